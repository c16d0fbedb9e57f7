import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  adminListenerFrom,
  createLogger,
  createObservability,
  type Observability,
} from '@conveyor/observability';
import { loadConfig, type ClassifierConfig } from './config';
import type { QualityClassifier } from './model/prediction';
import type { ClassificationService } from './serve/classification-service';
import { createObservedService } from './serve/observed-service';
import { createClassifierApp } from './serve/http-api';

export interface RunningClassifier {
  readonly url: string;
  readonly server: Server;
  readonly service: ClassificationService;
  readonly obs: Observability;
  /** Graceful stop: stop accepting, finish queued batches, free the model. */
  stop(): Promise<void>;
}

/** Starts the HTTP service; used by the entry point below, tests and the local all-in-one launcher. */
export async function start(
  config: ClassifierConfig,
  options: { model?: QualityClassifier; handleSignals?: boolean } = {},
): Promise<RunningClassifier> {
  const logger = createLogger('classifier', { level: config.LOG_LEVEL });
  const obs = createObservability({
    service: 'classifier',
    logger,
    admin: adminListenerFrom(config),
    handleSignals: options.handleSignals ?? true,
  });
  const service = createObservedService(config, obs, logger, options.model);
  const app = createClassifierApp({
    service,
    logger,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    mountObservability: (a) => obs.mount(a),
  });
  const server = await obs.listen(app, config.PORT, config.HOST);
  obs.onShutdown('model', () => service.close());
  const address = server.address() as AddressInfo;
  return {
    url: `http://${config.HOST}:${address.port}`,
    server,
    service,
    obs,
    stop: async () => {
      await obs.shutdown('stop requested');
    },
  };
}

if (require.main === module) {
  try {
    void start(loadConfig()).catch((error: unknown) => {
      console.error((error as Error).message);
      process.exit(1);
    });
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
}
