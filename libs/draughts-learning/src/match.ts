/** Matches between two players: colours alternate by game index, results from player A's side. */
import { newGame, playMove, type Game } from '@conveyor/draughts';
import { createPlayer, type Player, type PlayerSpec } from './players';
import { wilsonInterval } from './multinomial-test';

export interface MatchGameTask {
  readonly index: number;
  readonly seed: number;
}

export interface MatchGameResult {
  readonly index: number;
  /** 1 A won, 0 draw, -1 A lost. */
  readonly score: 1 | 0 | -1;
  readonly aWhite: boolean;
  readonly plies: number;
  readonly reason: string;
}

export async function playMatchGame(
  a: Player,
  b: Player,
  index: number,
  maxPlies = 300,
): Promise<MatchGameResult> {
  const aWhite = index % 2 === 0;
  let game: Game = newGame();
  let ply = 0;
  while (game.status.kind === 'ongoing' && ply < maxPlies) {
    const whiteToMove = ply % 2 === 0;
    const mover = whiteToMove === aWhite ? a : b;
    const move = await mover.chooseMove(game);
    const next = playMove(game, move);
    if (!next.ok) throw new Error(`${mover.name} played an illegal move: ${next.error.message}`);
    game = next.value;
    ply++;
  }
  const s = game.status;
  let score: 1 | 0 | -1 = 0;
  if (s.kind === 'win') score = (s.winner === 'white') === aWhite ? 1 : -1;
  return {
    index,
    score,
    aWhite,
    plies: ply,
    reason: s.kind === 'ongoing' ? 'ply-cap' : s.kind === 'win' ? s.reason : s.reason,
  };
}

export interface MatchWorkerData {
  readonly a: PlayerSpec;
  readonly b: PlayerSpec;
  readonly maxPlies?: number;
}

export async function playMatchTask(
  task: MatchGameTask,
  data: MatchWorkerData,
): Promise<MatchGameResult> {
  const a = createPlayer(data.a, task.seed);
  const b = createPlayer(data.b, task.seed ^ 0x51ed27);
  return playMatchGame(a, b, task.index, data.maxPlies);
}

export interface MatchSummary {
  readonly games: number;
  readonly wins: number;
  readonly draws: number;
  readonly losses: number;
  /** Points share of A: (wins + draws / 2) / games, with a Wilson 95% interval. */
  readonly score: number;
  readonly scoreCi: { low: number; high: number };
  /** Share of games A won, with a Wilson 95% interval. */
  readonly winRate: number;
  readonly winCi: { low: number; high: number };
}

export function summarizeMatch(results: readonly MatchGameResult[]): MatchSummary {
  const wins = results.filter((r) => r.score === 1).length;
  const draws = results.filter((r) => r.score === 0).length;
  const n = results.length;
  return {
    games: n,
    wins,
    draws,
    losses: n - wins - draws,
    score: n ? (wins + draws / 2) / n : NaN,
    // Points are half-integers; the interval treats a draw as half a success, the usual approximation.
    scoreCi: wilsonInterval(wins + draws / 2, n),
    winRate: n ? wins / n : NaN,
    winCi: wilsonInterval(wins, n),
  };
}
