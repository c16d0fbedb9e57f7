// Worker-thread entry for matches: initialises TensorFlow.js (neural players) once, then plays games.
import { initBackend } from '@conveyor/tfjs-runtime';
import { playMatchTask, type MatchGameTask, type MatchWorkerData } from './match';
import { serveTasks } from './pool';

let ready: Promise<unknown> | null = null;

serveTasks<MatchGameTask, unknown>(async (task, data) => {
  const d = data as MatchWorkerData;
  if (d.a.kind === 'neural' || d.b.kind === 'neural') await (ready ??= initBackend());
  return playMatchTask(task, d);
});
