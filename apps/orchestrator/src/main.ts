import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBus, type Bus } from '@conveyor/bus';
import { createLogger, createObservability, type Observability } from '@conveyor/observability';
import express from 'express';
import type { Logger } from 'pino';
import { createApiRouter } from './api/app';
import { configFromEnv, type OrchestratorConfig } from './config';
import { readWorkflowDir } from './definitions/loader';
import { DefinitionRegistry } from './definitions/registry';
import { Engine } from './engine/engine';
import { createEngineMetrics } from './engine/metrics';
import { registerQueueMetrics } from './engine/queue-metrics';
import { openStore, type Store } from './store/database';

export interface Orchestrator {
  readonly url: string;
  readonly server: Server;
  readonly engine: Engine;
  readonly registry: DefinitionRegistry;
  readonly store: Store;
  readonly bus: Bus;
  readonly obs: Observability;
  /** Graceful stop: HTTP, consumers, sweeper, bus, database (what SIGTERM does). */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Use this bus instead of creating one (tests sharing an embedded broker). */
  bus?: Bus;
  /** Install SIGTERM/SIGINT handlers (default: only when run as the main module). */
  handleSignals?: boolean;
}

export async function start(
  config: OrchestratorConfig,
  options: StartOptions = {},
): Promise<Orchestrator> {
  const logger =
    options.logger ?? createLogger('orchestrator', { level: config.logLevel as never });
  const obs = createObservability({
    service: 'orchestrator',
    logger,
    admin: config.admin,
    handleSignals: options.handleSignals ?? false,
  });
  const store = await openStore(config.store, { logger });
  const registry = new DefinitionRegistry(store.db);
  let bus: Bus | undefined;
  try {
    const defs = await registry.load(readWorkflowDir(config.workflowsDir));
    logger.info(
      { workflows: defs.map((d) => `${d.name}@${d.version}`), dir: config.workflowsDir },
      'workflow definitions loaded',
    );
    bus =
      options.bus ??
      (await createBus({
        url: config.amqpUrl,
        logger,
        connectionName: config.connectionName,
        registry: obs.registry,
      }));
  } catch (error) {
    await store.close();
    throw error;
  }
  const engine = new Engine({
    store,
    registry,
    bus,
    logger,
    metrics: createEngineMetrics(obs.registry),
    resultsQueue: config.resultsQueue,
    progressQueue: config.progressQueue,
    eventsExchange: config.eventsExchange,
    sweepIntervalMs: config.sweepIntervalMs,
    republishAfterMs: config.republishAfterMs,
    stepEvents: config.stepEvents,
    stepQueueType: config.stepQueueType,
    chainLinks: config.chainLinks,
    chainedRecordWaitMs: config.chainedRecordWaitMs,
  });
  try {
    await engine.start();
  } catch (error) {
    // e.g. a protocol queue left on the broker with the other STEP_QUEUE_TYPE: stop cleanly.
    await engine.stop().catch(() => undefined);
    if (!options.bus) await bus.close().catch(() => undefined);
    await store.close();
    throw error;
  }

  registerQueueMetrics({
    registry: obs.registry,
    bus,
    db: store.db,
    queueType: config.stepQueueType,
    queueNames: () => engine.stepQueueNames(),
    logger,
  });
  obs.addReadinessCheck('bus', () => {
    if (!bus.isHealthy()) throw new Error('not connected to the message broker');
  });
  obs.addReadinessCheck('database', async () => {
    await store.db.selectFrom('runs').select('id').limit(1).execute();
  });
  obs.setVar('store', store.describe);
  const { walCheckpoints } = store;
  if (walCheckpoints) obs.setVar('walCheckpoints', walCheckpoints);
  const { tableStatistics } = store;
  if (tableStatistics) obs.setVar('tablesAnalysedOnGrowth', () => tableStatistics.analysed());
  obs.setVar('workflows', () => registry.list().map((d) => `${d.name}@${d.version}`));
  obs.setVar('queues', {
    results: config.resultsQueue,
    progress: config.progressQueue,
    events: config.eventsExchange,
    type: config.stepQueueType,
  });

  const app = express();
  app.disable('x-powered-by');
  obs.mount(app);
  app.use(createApiRouter({ engine, registry, logger, limits: config.httpLimits }));
  const server = await obs.listen(app, config.port, config.host);
  const address = server.address() as AddressInfo;

  // Shutdown hooks run in reverse order: engine (consumers, sweeper) first, then bus, then db.
  const ownsBus = !options.bus;
  obs.onShutdown('database', () => store.close());
  if (ownsBus) obs.onShutdown('bus', () => bus.close());
  obs.onShutdown('engine', () => engine.stop());
  logger.info(
    { url: `http://${address.address}:${address.port}`, store: store.describe, bus: bus.kind },
    'orchestrator listening',
  );

  return {
    url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${address.port}`,
    server,
    engine,
    registry,
    store,
    bus,
    obs,
    async close() {
      await obs.shutdown('close() called');
    },
  };
}

if (require.main === module) {
  let config: OrchestratorConfig;
  try {
    config = configFromEnv();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  start(config, { handleSignals: true }).catch((error: unknown) => {
    console.error((error as Error).message ?? error);
    process.exit(1);
  });
}
