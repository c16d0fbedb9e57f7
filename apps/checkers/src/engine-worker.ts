import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import express from 'express';
import { createBus, DeadLetterError, type Bus, type Subscription } from '@conveyor/bus';
import type { EngineMoveRequest } from '@conveyor/contracts';
import {
  createLogger,
  createObservability,
  type Logger,
  type Observability,
} from '@conveyor/observability';
import { engineThreadFile, ensureBundles } from './bundles';
import { ConfigError, loadWorkerConfig, type EngineWorkerConfig } from './config';
import type { Engine } from './engine/engine';
import { engineReplyTopic, engineRequestQueue } from './engine/engine-messages';
import { meteredEngine } from './engine/metered-engine';
import { logNetwork, PoolEngine } from './engine/pool-engine';

/**
 * An engine worker: takes engine-move requests from RabbitMQ, searches them in its own
 * worker_threads pool and publishes the answer on the reply topic under the request's `replyTo`.
 * Scale these separately from the game server. Invalid messages are dead-lettered by the bus; a
 * position the engine rejects is answered (so the server isn't left waiting) and dead-lettered.
 */
export interface RunningEngineWorker {
  readonly obs: Observability;
  readonly server: Server;
  /** Base URL of the worker's observability endpoints. */
  readonly url: string;
  readonly bus: Bus;
  readonly workerId: string;
  close(): Promise<void>;
}

export interface EngineWorkerOptions {
  readonly handleSignals?: boolean;
  readonly logger?: Logger;
}

export async function startEngineWorker(
  config: EngineWorkerConfig,
  options: EngineWorkerOptions = {},
): Promise<RunningEngineWorker> {
  const logger =
    options.logger ?? createLogger('checkers-engine-worker', { level: config.logLevel });
  const workerId = `${hostname()}/${process.pid}`;
  const obs = createObservability({
    service: 'checkers-engine-worker',
    logger,
    admin: config.admin,
    version: process.env['APP_VERSION'],
    handleSignals: options.handleSignals ?? true,
  });
  await ensureBundles(config.bundleDir);

  const pool = new PoolEngine({
    threadFile: engineThreadFile(config.bundleDir),
    threads: config.threads,
    modelDir: config.modelDir,
  });
  // Threads load the network at start; consume once they have (a failed load is no failure).
  await logNetwork(pool, logger);
  const engine: Engine = meteredEngine(pool, obs.registry, 'checkers_engine_worker_search');
  obs.onShutdown('engine', () => engine.close());

  const bus = await createBus({
    url: config.amqpUrl,
    logger,
    connectionName: `checkers-engine-worker-${process.pid}`,
    registry: obs.registry,
  });
  obs.onShutdown('bus', () => bus.close());
  obs.addReadinessCheck('rabbitmq', () => {
    if (!bus.isHealthy()) throw new Error('not connected to RabbitMQ');
  });

  const requests = engineRequestQueue(config.requestQueue);
  const replies = engineReplyTopic(config.replyTopic);
  let expired = 0;
  const handle = async (request: EngineMoveRequest): Promise<void> => {
    if (request.deadline < Date.now()) {
      // Nobody waits for this answer any more (the server answered 504): searching is wasted work.
      expired++;
      logger.warn(
        { requestId: request.requestId },
        'engine request expired before it was searched; skipped',
      );
      return;
    }
    const outcome = await engine.chooseMove({
      fen: request.fen,
      history: request.history,
      difficulty: request.difficulty,
      search: request.search,
      seed: request.seed,
    });
    await bus.publishEvent(
      replies,
      {
        type: 'checkers.engine-move.response',
        version: 1,
        requestId: request.requestId,
        worker: workerId,
        outcome,
      },
      { routingKey: request.replyTo, correlationId: request.requestId },
    );
    if (outcome.kind === 'rejected') {
      throw new DeadLetterError(`engine rejected the request: ${outcome.reason}`);
    }
  };
  // Prefetch matches the threads: each unacked message is a search running or about to.
  // A crash or timeout throws: the bus redelivers once (maxAttempts 2), then dead-letters it.
  const subscription: Subscription = await bus.consume(requests, ({ message }) => handle(message), {
    prefetch: config.threads,
  });
  obs.onShutdown('consumer', () => subscription.cancel());
  obs.setVar('engine', () => ({ workerId, ...engine.stats(), expired }));
  obs.setVar('queues', { requests: config.requestQueue, replies: config.replyTopic });

  const app = express();
  obs.mount(app);
  const server = await obs.listen(app, config.port, config.host);
  const url = `http://${config.host}:${(server.address() as AddressInfo).port}`;
  logger.info(
    { workerId, url, queue: config.requestQueue, threads: config.threads },
    'engine worker consuming',
  );
  return {
    obs,
    server,
    url,
    bus,
    workerId,
    close: async () => {
      await obs.shutdown('close() called');
    },
  };
}

if (require.main === module) {
  try {
    void startEngineWorker(loadWorkerConfig()).catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    });
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(2);
  }
}
