import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Bus, Subscription } from '@conveyor/bus';
import type { EngineMoveOutcome } from '@conveyor/contracts';
import type { Logger } from '@conveyor/observability';
import { ENGINE_GRACE_MS } from '../difficulty';
import { EngineTimeoutError, type Engine, type EngineTask } from './engine';
import { engineReplyTopic, engineRequestQueue } from './engine-messages';

export interface BusEngineOptions {
  readonly bus: Bus;
  readonly requestQueue: string;
  readonly replyTopic: string;
  readonly logger: Logger;
  /** How long a request may wait in the queue for a free worker, on top of its search budget. */
  readonly queueSlackMs?: number;
}

interface Pending {
  readonly resolve: (outcome: EngineMoveOutcome) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Engine moves computed by engine workers over RabbitMQ: requests go to a shared durable queue
 * (any worker takes one), replies come back on a topic under this server's own routing key,
 * through a transient exclusive subscription that disappears with the server.
 */
export class BusEngine implements Engine {
  readonly kind = 'bus';
  // Routing-key safe (the contract allows letters, digits, '.', '_', ':' and '-') and unique per
  // server process, so replies reach only the server that asked.
  private readonly replyTo = `checkers-server.${hostname()
    .replace(/[^A-Za-z0-9_:-]/g, '-')
    .slice(0, 100)}.${process.pid}.${randomUUID().slice(0, 8)}`;
  private readonly pending = new Map<string, Pending>();
  private subscription: Subscription | undefined;
  private timeouts = 0;
  private lateReplies = 0;

  private constructor(private readonly options: BusEngineOptions) {}

  static async create(options: BusEngineOptions): Promise<BusEngine> {
    const engine = new BusEngine(options);
    await options.bus.assertQueue(engineRequestQueue(options.requestQueue));
    engine.subscription = await options.bus.subscribe(
      engineReplyTopic(options.replyTopic),
      async ({ message }) => engine.settle(message.requestId, message.outcome),
      { pattern: engine.replyTo },
    );
    return engine;
  }

  async chooseMove(task: EngineTask): Promise<EngineMoveOutcome> {
    const requestId = randomUUID();
    const waitMs = task.search.timeMs + ENGINE_GRACE_MS + (this.options.queueSlackMs ?? 5_000);
    const answer = new Promise<EngineMoveOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        this.timeouts++;
        reject(
          new EngineTimeoutError(
            `no engine worker answered within ${waitMs} ms; check that engine workers consume ` +
              `queue ${this.options.requestQueue}`,
          ),
        );
      }, waitMs);
      this.pending.set(requestId, { resolve, reject, timer });
    });
    try {
      await this.options.bus.publish(engineRequestQueue(this.options.requestQueue), {
        type: 'checkers.engine-move.request',
        version: 1,
        requestId,
        fen: task.fen,
        history: [...task.history],
        difficulty: task.difficulty,
        search: task.search,
        seed: task.seed,
        replyTo: this.replyTo,
        deadline: Date.now() + waitMs,
      });
    } catch (error) {
      const pending = this.pending.get(requestId);
      if (pending) clearTimeout(pending.timer);
      this.pending.delete(requestId);
      throw error;
    }
    return answer;
  }

  private settle(requestId: string, outcome: EngineMoveOutcome): void {
    const pending = this.pending.get(requestId);
    if (!pending) {
      // The request timed out already (or was for a server instance that restarted).
      this.lateReplies++;
      this.options.logger.warn(
        { requestId },
        'engine reply for a request nobody waits for; dropped',
      );
      return;
    }
    clearTimeout(pending.timer);
    this.pending.delete(requestId);
    pending.resolve(outcome);
  }

  async checkReady(): Promise<void> {
    if (!this.options.bus.isHealthy()) throw new Error('not connected to RabbitMQ');
  }

  stats(): Record<string, number | string> {
    return {
      replyTo: this.replyTo,
      waiting: this.pending.size,
      timeouts: this.timeouts,
      lateReplies: this.lateReplies,
    };
  }

  async close(): Promise<void> {
    await this.subscription?.cancel();
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error('server shutting down'));
      this.pending.delete(id);
    }
  }
}
