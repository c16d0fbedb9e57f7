// Worker-thread entry for self-play: each task is a list of game ids, answered with their records.
import { serveTasks } from './pool';
import { gameSeed, playSelfPlayGame, type EngineSettings } from './selfplay';
import type { GameRecord } from './game-log';

export interface SelfPlayWorkerData {
  readonly white: EngineSettings;
  readonly black: EngineSettings;
  readonly runSeed: number;
  readonly maxPlies?: number;
}

serveTasks<readonly number[], GameRecord[]>((ids, data) => {
  const d = data as SelfPlayWorkerData;
  return ids.map((id) =>
    playSelfPlayGame({
      white: d.white,
      black: d.black,
      id,
      seed: gameSeed(d.runSeed, id),
      maxPlies: d.maxPlies,
    }),
  );
});
