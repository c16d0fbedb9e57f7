import type { ClassifyItem, ClassifyResult } from '@conveyor/contracts';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { questionText } from '../data/normalize';
import { loadClassifier } from '../model/load-classifier';
import type { Prediction, QualityClassifier } from '../model/prediction';
import { DynamicBatcher } from './batcher';

export type ModelState =
  | { readonly state: 'loading'; readonly since: Date }
  | { readonly state: 'ready'; readonly model: QualityClassifier; readonly loadedInMs: number }
  | { readonly state: 'failed'; readonly error: string };

export class ModelUnavailableError extends Error {
  override readonly name = 'ModelUnavailableError';
}

export interface ClassificationServiceOptions {
  modelDir: string;
  maxBatchSize: number;
  maxWaitMs: number;
  maxQueuedItems: number;
  registry: Registry;
  logger: Logger;
  /** Tests pass a model directly instead of a directory. */
  model?: QualityClassifier;
}

/**
 * What HTTP and the AMQP worker share: the model (loaded in the background so /healthz answers
 * at once and /readyz says when the model is there), one dynamic batcher in front of it, and the
 * model metrics.
 */
export class ClassificationService {
  private current: ModelState = { state: 'loading', since: new Date() };
  private readonly batcher: DynamicBatcher<string, Prediction>;
  readonly ready: Promise<void>;

  constructor(private readonly options: ClassificationServiceOptions) {
    const registers = [options.registry];
    const batchSize = new Histogram({
      name: 'classifier_batch_size',
      help: 'Items per model call (dynamic batching)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    const inference = new Histogram({
      name: 'classifier_inference_seconds',
      help: 'Duration of one model call (a whole batch)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const failures = new Counter({
      name: 'classifier_inference_failures_total',
      help: 'Model calls that threw',
      registers,
    });
    const predictions = new Counter({
      name: 'classifier_predictions_total',
      help: 'Predictions made, by predicted class',
      labelNames: ['label'] as const,
      registers,
    });
    const queued = new Gauge({
      name: 'classifier_queued_items',
      help: 'Items waiting for a model call',
      registers,
    });
    this.batcher = new DynamicBatcher<string, Prediction>({
      maxBatchSize: options.maxBatchSize,
      maxWaitMs: options.maxWaitMs,
      maxQueuedItems: options.maxQueuedItems,
      run: async (texts) => {
        queued.set(this.batcher.queued);
        const model = this.requireModel();
        const out = await model.predict(texts);
        for (const p of out) predictions.inc({ label: p.label });
        return out;
      },
      onBatch: ({ size, durationMs, error }) => {
        batchSize.observe(size);
        inference.observe(durationMs / 1000);
        queued.set(this.batcher.queued);
        if (error) {
          failures.inc();
          options.logger.error({ err: error, size }, 'model call failed');
        }
      },
    });
    this.ready = this.load();
    // Load failures are reported through `state` and /readyz; this keeps them from also
    // crashing the process as an unhandled rejection when nobody awaits `ready`.
    this.ready.catch(() => undefined);
  }

  get state(): ModelState {
    return this.current;
  }

  get batching(): DynamicBatcher<string, Prediction>['stats'] {
    return this.batcher.stats;
  }

  private async load(): Promise<void> {
    const started = performance.now();
    try {
      const model = this.options.model ?? (await loadClassifier(this.options.modelDir));
      const loadedInMs = Math.round(performance.now() - started);
      this.current = { state: 'ready', model, loadedInMs };
      this.options.logger.info({ model: model.description, loadedInMs }, 'model loaded');
    } catch (error) {
      this.current = { state: 'failed', error: (error as Error).message };
      this.options.logger.error(
        { err: error, modelDir: this.options.modelDir },
        'model failed to load',
      );
      throw error;
    }
  }

  private requireModel(): QualityClassifier {
    switch (this.current.state) {
      case 'ready':
        return this.current.model;
      case 'loading':
        throw new ModelUnavailableError('the model is still loading; retry in a few seconds');
      case 'failed':
        throw new ModelUnavailableError(`the model failed to load: ${this.current.error}`);
    }
  }

  /** The model's identity for responses: kind + version from its manifest. */
  modelInfo(): { kind: string; version: string } {
    const model = this.requireModel();
    return { kind: model.kind, version: String(model.description['version'] ?? model.kind) };
  }

  async classify(items: readonly ClassifyItem[]): Promise<ClassifyResult[]> {
    this.requireModel();
    const texts = items.map((item) => questionText(item.title, item.body, 'html'));
    const predictions = await this.batcher.submit(texts);
    return predictions.map((p, i) => {
      const id = items[i]?.id;
      return {
        ...(id !== undefined ? { id } : {}),
        label: p.label,
        probabilities: { ...p.probabilities },
      };
    });
  }

  async close(): Promise<void> {
    await this.batcher.close();
    if (this.current.state === 'ready') this.current.model.dispose();
  }
}
