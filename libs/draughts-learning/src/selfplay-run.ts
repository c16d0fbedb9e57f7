/**
 * A resumable self-play run into a JSONL log: games already in the file are skipped, a line cut
 * short by an interrupted run is dropped, and new games are appended as they finish.
 */
import { appendFileSync, existsSync, readFileSync, truncateSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatRecord, parseRecord, type GameRecord } from './game-log';
import { runPool } from './pool';
import type { SelfPlayWorkerData } from './selfplay-worker';
import type { EngineSettings } from './selfplay';

/** A resumable run into a log file: playGames' engine settings, plus where and which ids. */
export interface SelfPlayRunOptions extends Omit<PlayGamesOptions, 'onGames'> {
  readonly out: string;
  /** Game ids firstId … firstId + games - 1 (shards take disjoint ranges). */
  readonly games: number;
  readonly firstId?: number;
  readonly onProgress?: (done: number, total: number, record: GameRecord | null) => void;
}

export interface SelfPlayRunSummary {
  readonly played: number;
  readonly resumed: number;
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** Ids already logged; drops a trailing partial line so appends start on a fresh line. */
export function completedIds(out: string): Set<number> {
  const done = new Set<number>();
  if (!existsSync(out)) return done;
  const text = readFileSync(out, 'utf8');
  const end = text.lastIndexOf('\n') + 1;
  if (end < text.length) truncateSync(out, Buffer.byteLength(text.slice(0, end)));
  for (const line of text.slice(0, end).split('\n')) {
    if (!line) continue;
    const parsed = parseRecord(line);
    if (parsed.ok) done.add(parsed.record.id);
  }
  return done;
}

export interface PlayGamesOptions {
  readonly white: EngineSettings;
  readonly black: EngineSettings;
  readonly runSeed: number;
  readonly threads: number;
  /** Game ids per worker task (default 20): small enough for smooth progress reports. */
  readonly chunk?: number;
  readonly maxPlies?: number;
  /** Called with each finished chunk of games, in completion order (not id order). */
  readonly onGames?: (records: readonly GameRecord[]) => void;
}

/**
 * Plays the given game ids on `threads` worker threads. The calling thread only waits, so a
 * service that plays games (the orchestrator's selfplay-shard worker) keeps answering heartbeats
 * and broker traffic while its cores are busy.
 */
export async function playGames(ids: readonly number[], options: PlayGamesOptions): Promise<void> {
  const chunk = options.chunk ?? 20;
  const tasks: number[][] = [];
  for (let i = 0; i < ids.length; i += chunk) tasks.push(ids.slice(i, i + chunk));
  const workerData: SelfPlayWorkerData = {
    white: options.white,
    black: options.black,
    runSeed: options.runSeed,
    maxPlies: options.maxPlies,
  };
  await runPool<number[], GameRecord[]>({
    script: resolve(__dirname, 'selfplay-worker.ts'),
    tasks,
    threads: options.threads,
    workerData,
    onResult: (records) => options.onGames?.(records),
  });
}

export async function runSelfPlay(options: SelfPlayRunOptions): Promise<SelfPlayRunSummary> {
  const first = options.firstId ?? 0;
  const done = completedIds(options.out);
  const todo: number[] = [];
  for (let id = first; id < first + options.games; id++) if (!done.has(id)) todo.push(id);
  const resumed = options.games - todo.length;
  const started = Date.now();
  const cpuBefore = process.cpuUsage();
  let finished = resumed;
  options.onProgress?.(finished, options.games, null);
  await playGames(todo, {
    white: options.white,
    black: options.black,
    runSeed: options.runSeed,
    threads: options.threads,
    chunk: options.chunk,
    maxPlies: options.maxPlies,
    onGames: (records) => {
      appendFileSync(options.out, records.map((r) => formatRecord(r) + '\n').join(''));
      for (const r of records) options.onProgress?.(++finished, options.games, r);
    },
  });
  const cpu = process.cpuUsage(cpuBefore);
  return {
    played: todo.length,
    resumed,
    wallMs: Date.now() - started,
    // Worker threads share the process, so process.cpuUsage covers them too.
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  };
}
