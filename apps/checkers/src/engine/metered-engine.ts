import { Histogram, type Registry } from 'prom-client';
import type { EngineMoveOutcome } from '@conveyor/contracts';
import type { Engine, EngineTask } from './engine';

/**
 * Wraps an Engine to record every search's latency, labelled by difficulty, where it ran and how
 * it ended — the numbers that say whether a difficulty's budget fits the instance.
 */
export function meteredEngine(engine: Engine, registry: Registry, metricName: string): Engine {
  const histogram = new Histogram({
    name: metricName,
    help: 'Engine move latency in seconds, from request to answer (queueing included)',
    labelNames: ['difficulty', 'engine', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    kind: engine.kind,
    async chooseMove(task: EngineTask): Promise<EngineMoveOutcome> {
      const end = histogram.startTimer({ difficulty: task.difficulty, engine: engine.kind });
      try {
        const outcome = await engine.chooseMove(task);
        end({ outcome: outcome.kind });
        return outcome;
      } catch (error) {
        end({ outcome: error instanceof Error ? error.name : 'error' });
        throw error;
      }
    },
    checkReady: () => engine.checkReady(),
    stats: () => engine.stats(),
    close: () => engine.close(),
  };
}
