import type { AddressInfo } from 'node:net';
import { createBus, type Bus } from '@conveyor/bus';
import { ClassifyRequest, ClassifyResponse } from '@conveyor/contracts';
import {
  adminListenerFrom,
  createLogger,
  createObservability,
  type Observability,
} from '@conveyor/observability';
import {
  defineBatchStepHandler,
  RetryableStepError,
  startStepWorker,
  type StepWorker,
} from '@conveyor/worker-sdk';
import express from 'express';
import { loadConfig, type ClassifierConfig } from './config';
import type { QualityClassifier } from './model/prediction';
import { ModelUnavailableError, type ClassificationService } from './serve/classification-service';
import { createObservedService } from './serve/observed-service';
import { OverloadedError } from './serve/batcher';

export interface RunningWorker {
  readonly bus: Bus;
  readonly worker: StepWorker;
  readonly service: ClassificationService;
  readonly obs: Observability;
  /** Where /healthz, /readyz, /metrics and /debug/vars are served. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * The `classify` workflow step: consumes step requests from the queue CLASSIFY_QUEUE (default
 * `classify`), hands the items of up to WORKER_CONCURRENCY step requests of any runs to the same
 * batched model as the HTTP API in one submission (a batch step handler), and replies to each
 * with its classifier.classify.response. Requests that fail the StepRequest schema are
 * dead-lettered by the bus; inputs that fail ClassifyRequest get a fatal INVALID_INPUT result
 * (that step only); a model that is still loading gives a retryable failure.
 */
export async function startWorker(
  config: ClassifierConfig,
  options: { model?: QualityClassifier; handleSignals?: boolean; bus?: Bus } = {},
): Promise<RunningWorker> {
  const logger = createLogger('classifier-worker', { level: config.LOG_LEVEL });
  const obs = createObservability({
    service: 'classifier-worker',
    logger,
    admin: adminListenerFrom(config),
    handleSignals: options.handleSignals ?? true,
  });
  const service = createObservedService(config, obs, logger, options.model);
  const bus =
    options.bus ??
    (await createBus({
      ...(config.AMQP_URL ? { url: config.AMQP_URL } : {}),
      logger,
      connectionName: 'classifier-worker',
      registry: obs.registry,
    }));

  // Step requests of different runs reach the model together (protocol §9): up to
  // WORKER_CONCURRENCY of them, waiting at most BATCH_WAIT_MS, in one model submission. Two
  // batches in flight keep the model's own batcher fed while the previous results go out.
  const handler = defineBatchStepHandler<ClassifyRequest, ClassifyResponse>({
    queue: config.CLASSIFY_QUEUE,
    input: ClassifyRequest,
    output: ClassifyResponse,
    maxBatchSize: config.WORKER_CONCURRENCY,
    maxWaitMs: config.BATCH_WAIT_MS,
    concurrency: 2,
    async handleBatch(steps) {
      let results: Awaited<ReturnType<ClassificationService['classify']>>;
      try {
        results = await service.classify(steps.flatMap((step) => step.input.items));
      } catch (error) {
        // The whole submission failed: every step of the batch gets this error as its result.
        if (error instanceof ModelUnavailableError || error instanceof OverloadedError) {
          throw new RetryableStepError(error.message, {
            code: error instanceof OverloadedError ? 'OVERLOADED' : 'MODEL_UNAVAILABLE',
          });
        }
        throw error;
      }
      const model = service.modelInfo();
      let offset = 0;
      return steps.map((step) => {
        const mine = results.slice(offset, (offset += step.input.items.length));
        return {
          status: 'succeeded' as const,
          output: { type: 'classifier.classify.response', version: 1, model, results: mine },
        };
      });
    },
  });
  const worker = await startStepWorker({ bus, handlers: [handler], logger });

  obs.addReadinessCheck('bus', async () => {
    if (!bus.isHealthy()) throw new Error('not connected to the message broker');
  });
  obs.setVar('worker', () => ({
    queue: config.CLASSIFY_QUEUE,
    inFlight: worker.inFlight(),
    bus: bus.kind,
  }));
  // Hooks run in reverse: stop taking requests first, then finish batches, then close the bus.
  if (!options.bus) obs.onShutdown('bus', () => bus.close());
  obs.onShutdown('model', () => service.close());
  obs.onShutdown('worker', () => worker.close());

  const app = express();
  obs.mount(app);
  const server = await obs.listen(app, config.PORT, config.HOST);
  const address = server.address() as AddressInfo;
  return {
    bus,
    worker,
    service,
    obs,
    url: `http://${config.HOST}:${address.port}`,
    stop: async () => {
      await obs.shutdown('stop requested');
    },
  };
}

if (require.main === module) {
  try {
    void startWorker(loadConfig()).catch((error: unknown) => {
      console.error((error as Error).message);
      process.exit(1);
    });
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
}
