import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBus, type Bus } from '@conveyor/bus';
import {
  createLogger,
  createObservability,
  type Logger,
  type Observability,
} from '@conveyor/observability';
import { engineThreadFile, ensureBundles, webDir } from './bundles';
import { ConfigError, loadConfig, type CheckersConfig } from './config';
import { BusEngine } from './engine/bus-engine';
import type { Engine } from './engine/engine';
import { meteredEngine } from './engine/metered-engine';
import { logNetwork, PoolEngine } from './engine/pool-engine';
import { GameService } from './game-service';
import { createApp } from './http/app';
import { openDatabase, pingDatabase } from './persistence/database';
import { GameStore } from './persistence/game-store';

export interface StartOptions {
  /** Install SIGTERM/SIGINT handlers (default true; tests pass false). */
  readonly handleSignals?: boolean;
  readonly logger?: Logger;
}

export interface RunningCheckers {
  readonly url: string;
  readonly server: Server;
  readonly obs: Observability;
  readonly games: GameService;
  /** Stops accepting requests, finishes in-flight ones, closes engine, bus and database. */
  close(): Promise<void>;
}

/** Starts the game server: bundles (if needed), database, engine, HTTP. */
export async function start(
  config: CheckersConfig,
  options: StartOptions = {},
): Promise<RunningCheckers> {
  const logger = options.logger ?? createLogger('checkers', { level: config.logLevel });
  const obs = createObservability({
    service: 'checkers',
    logger,
    admin: config.admin,
    version: process.env['APP_VERSION'],
    handleSignals: options.handleSignals ?? true,
  });

  const bundles = await ensureBundles(config.bundleDir);
  if (bundles.built.length > 0)
    logger.info({ built: bundles.built, dir: config.bundleDir }, 'built bundles');

  const db = await openDatabase(config.database);
  obs.onShutdown('database', () => db.destroy());
  obs.addReadinessCheck('database', () => pingDatabase(db));
  const store = new GameStore(db);

  let bus: Bus | undefined;
  let engine: Engine;
  if (config.engine.mode === 'bus') {
    bus = await createBus({
      url: config.engine.amqpUrl,
      logger,
      connectionName: `checkers-server-${process.pid}`,
      registry: obs.registry,
    });
    const busRef = bus;
    obs.onShutdown('bus', () => busRef.close());
    engine = await BusEngine.create({
      bus,
      requestQueue: config.engine.requestQueue,
      replyTopic: config.engine.replyTopic,
      queueSlackMs: config.engine.queueSlackMs,
      logger,
    });
  } else {
    const pool = new PoolEngine({
      threadFile: engineThreadFile(config.bundleDir),
      threads: config.engine.threads,
      modelDir: config.engine.modelDir,
    });
    // Threads load the network at start; serve once they have (a failed load is no failure).
    await logNetwork(pool, logger);
    engine = pool;
  }
  engine = meteredEngine(engine, obs.registry, 'checkers_engine_move');
  const engineRef = engine;
  obs.onShutdown('engine', () => engineRef.close());
  obs.addReadinessCheck('engine', () => engineRef.checkReady());
  obs.setVar('engine', () => ({ mode: config.engine.mode, ...engineRef.stats() }));
  obs.setVar('games', async () => ({ stored: await store.count() }));
  obs.setVar('config', {
    database: config.database.kind,
    engine: config.engine.mode,
    bundleDir: config.bundleDir,
  });

  const games = new GameService(store, engine, logger);
  const app = createApp({ games, obs, logger, webDir: webDir(config.bundleDir) });
  const server = await obs.listen(app, config.port, config.host);
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info(
    { url, database: config.database.kind, engine: config.engine.mode },
    'checkers listening',
  );
  return {
    url,
    server,
    obs,
    games,
    close: async () => {
      await obs.shutdown('close() called');
    },
  };
}

if (require.main === module) {
  try {
    void start(loadConfig()).catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    });
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(2);
  }
}
