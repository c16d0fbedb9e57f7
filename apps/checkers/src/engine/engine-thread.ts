import { isMainThread, workerData } from 'node:worker_threads';
import type { EngineMoveOutcome } from '@conveyor/contracts';
import { createLogger } from '@conveyor/observability';
import type { EngineTask } from './engine';
import { loadNeural, modelDirOf, type NeuralState } from './neural-tiebreak';
import { runSearch } from './search-task';

/**
 * Entry point of an engine worker thread (bundled to dist/engine-thread.js and loaded by piscina):
 * each task is one search. Searching synchronously is fine here — this thread does nothing else.
 *
 * The network for hard's tie-break is loaded once, when the thread starts (backend choice and
 * model load take ~0.1–0.5 s, far too long per request); a request arriving earlier waits for
 * it. The model directory comes from the pool (workerData.modelDir, set from MODEL_DIR).
 */
export interface EngineThreadData {
  readonly modelDir?: string;
}

const logger = createLogger('checkers-engine-thread');
const data: EngineThreadData = isMainThread ? {} : ((workerData ?? {}) as EngineThreadData);
const neural: Promise<NeuralState> = loadNeural(modelDirOf(data.modelDir), (message) =>
  logger.info(message),
).then((state) => {
  if (state.kind === 'ready')
    logger.info(
      { backend: state.backend, modelDir: state.modelDir },
      'engine thread: neural tie-break ready',
    );
  else
    logger.warn(
      { reason: state.reason },
      'engine thread: no network, hard plays the alpha-beta choice among tied moves',
    );
  return state;
});

/** What a thread tells the pool about its network once loaded (the answer to a warm-up task). */
export type ThreadNetworkStatus =
  | { readonly kind: 'ready'; readonly backend: string; readonly modelDir: string }
  | { readonly kind: 'unavailable'; readonly reason: string };

/** Sent by the pool when it starts, one per thread, so threads load the network before traffic. */
export interface WarmUpTask {
  readonly warmUp: true;
}

export async function networkStatus(): Promise<ThreadNetworkStatus> {
  const state = await neural;
  return state.kind === 'ready'
    ? { kind: 'ready', backend: state.backend, modelDir: state.modelDir }
    : { kind: 'unavailable', reason: state.reason };
}

export default async function engineThread(
  task: EngineTask | WarmUpTask,
): Promise<EngineMoveOutcome | ThreadNetworkStatus> {
  if ('warmUp' in task) return networkStatus();
  // Only hard waits for the network; easy and medium never need it.
  return runSearch(
    task,
    task.search.scorer === 'piece-count+neural-tiebreak' ? await neural : undefined,
    (message) =>
      logger.warn({ error: message }, 'network tie-break failed; kept the alpha-beta choice'),
  );
}
