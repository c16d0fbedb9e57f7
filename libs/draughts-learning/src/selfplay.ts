/**
 * One self-play game between two engine settings. Pure and deterministic: the same settings
 * and seed give the same game, which is what makes runs resumable and shards reproducible.
 */
import {
  currentPosition,
  newGame,
  playMove,
  search,
  toFen,
  TranspositionTable,
  type Game,
} from '@conveyor/draughts';
import {
  encodeMoveIndex,
  moveIndex,
  type EndReason,
  type GameRecord,
  type GameResult,
} from './game-log';

export interface EngineSettings {
  /** Shown in the log, e.g. "d4". */
  readonly label: string;
  /** Search depth in plies. */
  readonly depth: number;
}

export interface SelfPlayOptions {
  readonly white: EngineSettings;
  readonly black: EngineSettings;
  readonly id: number;
  readonly seed: number;
  /** Adjudicate a draw after this many plies (default 300): king endings can shuffle for long. */
  readonly maxPlies?: number;
}

export function engineLabel(depth: number): string {
  return `d${depth}`;
}

/** Per-game seed from a run seed and game id, so any shard can play any game id on its own. */
export function gameSeed(runSeed: number, id: number): number {
  let h = Math.imul(runSeed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(id + 1, 0xc2b2ae35);
  h ^= h >>> 13;
  h = Math.imul(h, 0x27d4eb2f);
  return (h ^ (h >>> 16)) >>> 0;
}

export function playSelfPlayGame(options: SelfPlayOptions): GameRecord {
  const maxPlies = options.maxPlies ?? 300;
  // A small table per side: fresh per game keeps each game a function of its seed alone.
  const tables = { white: new TranspositionTable(14), black: new TranspositionTable(14) };
  let game: Game = newGame();
  let moves = '';
  let ply = 0;
  while (game.status.kind === 'ongoing' && ply < maxPlies) {
    const pos = currentPosition(game);
    const settings = pos.turn === 'white' ? options.white : options.black;
    // Randomising among exactly tied best moves is what makes games differ (design requirement).
    const r = search(game, {
      depth: settings.depth,
      randomize: true,
      seed: (options.seed + ply * 7919) | 0,
      table: tables[pos.turn],
    });
    if (r.move === null) break;
    moves += encodeMoveIndex(moveIndex(pos, r.move));
    const next = playMove(game, r.move);
    if (!next.ok)
      throw new Error(`engine chose an illegal move at ply ${ply}: ${next.error.message}`);
    game = next.value;
    ply++;
  }
  const { result, reason } = outcomeOf(game);
  return {
    v: 1,
    id: options.id,
    seed: options.seed,
    white: options.white.label,
    black: options.black.label,
    moves,
    result,
    reason,
    plies: ply,
    final: toFen(currentPosition(game)),
  };
}

function outcomeOf(game: Game): { result: GameResult; reason: EndReason } {
  const s = game.status;
  switch (s.kind) {
    case 'ongoing':
      return { result: '1/2-1/2', reason: 'ply-cap' };
    case 'win':
      if (s.reason === 'resignation') throw new Error('self-play engines never resign');
      return { result: s.winner === 'white' ? '1-0' : '0-1', reason: 'no-moves' };
    case 'draw':
      if (s.reason === 'agreement') throw new Error('self-play engines never agree draws');
      return { result: '1/2-1/2', reason: s.reason };
  }
}
