import type { Observability } from '@conveyor/observability';
import type { Logger } from 'pino';
import type { ClassifierConfig } from '../config';
import type { QualityClassifier } from '../model/prediction';
import { ClassificationService } from './classification-service';

/**
 * The HTTP API and the `classify` step worker serve the same batched model; this builds it and
 * reports its state the same way in both (readiness check `model`, `/debug/vars` entries
 * `model` and `batching`).
 */
export function createObservedService(
  config: ClassifierConfig,
  obs: Observability,
  logger: Logger,
  model?: QualityClassifier,
): ClassificationService {
  const service = new ClassificationService({
    modelDir: config.MODEL_DIR,
    maxBatchSize: config.BATCH_MAX_SIZE,
    maxWaitMs: config.BATCH_WAIT_MS,
    maxQueuedItems: config.MAX_QUEUED_ITEMS,
    registry: obs.registry,
    logger,
    ...(model ? { model } : {}),
  });
  obs.addReadinessCheck('model', async () => {
    const state = service.state;
    if (state.state === 'loading')
      throw new Error(`model loading since ${state.since.toISOString()}`);
    if (state.state === 'failed') throw new Error(`model failed to load: ${state.error}`);
  });
  obs.setVar('model', () => {
    const state = service.state;
    return state.state === 'ready'
      ? { state: 'ready', loadedInMs: state.loadedInMs, ...state.model.description }
      : { ...state, modelDir: config.MODEL_DIR };
  });
  obs.setVar('batching', () => ({
    maxBatchSize: config.BATCH_MAX_SIZE,
    maxWaitMs: config.BATCH_WAIT_MS,
    ...service.batching,
  }));
  return service;
}
