import { Counter, Histogram, type Registry } from 'prom-client';
import type { EngineMoveOutcome } from '@conveyor/contracts';
import type { Engine, EngineTask } from './engine';

/**
 * Wraps an Engine to record every search's latency, labelled by difficulty, where it ran and how
 * it ended — the numbers that say whether a difficulty's budget fits the instance — and, for
 * moves chosen with a neural tie-break, who chose (`<prefix>_tiebreaks_total{by}`: `network`,
 * `single` when one move was best, or why the alpha-beta choice was kept: `unavailable`,
 * `timeout`, `error`), so a network that stopped working shows up on a dashboard.
 */
export function meteredEngine(engine: Engine, registry: Registry, metricPrefix: string): Engine {
  const histogram = new Histogram({
    name: `${metricPrefix}_seconds`,
    help: 'Engine move latency in seconds, from request to answer (queueing included)',
    labelNames: ['difficulty', 'engine', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 5, 10],
    registers: [registry],
  });
  const tieBreaks = new Counter({
    name: `${metricPrefix}_tiebreaks_total`,
    help: 'Engine moves searched with a neural tie-break, by who chose among the tied root moves',
    labelNames: ['difficulty', 'by'] as const,
    registers: [registry],
  });
  return {
    kind: engine.kind,
    async chooseMove(task: EngineTask): Promise<EngineMoveOutcome> {
      const end = histogram.startTimer({ difficulty: task.difficulty, engine: engine.kind });
      try {
        const outcome = await engine.chooseMove(task);
        end({ outcome: outcome.kind });
        if (outcome.kind === 'move' && outcome.tieBreak)
          tieBreaks.inc({ difficulty: task.difficulty, by: outcome.tieBreak.by });
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
