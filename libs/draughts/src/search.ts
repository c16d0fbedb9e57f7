/**
 * Searching for a move: iterative deepening over the alpha-beta core (alphabeta.ts), root move
 * handling (seeded random choice among near-equal moves), node/time limits, and batched
 * scorers.
 *
 * Batched scorers: alpha-beta wants one score at a time, a neural scorer wants thousands per
 * call. searchAsync runs each depth in rounds: leaves not yet scored get a provisional score
 * from the fallback scorer and are queued; the queue is scored in one batch and the depth is
 * searched again with the real scores, until no leaf is missing or `batchRounds` is reached.
 */
import { INF, MAX_PLY, Searcher, WIN_SCORE, WIN_THRESHOLD } from './alphabeta';
import { setOf } from './bitboard';
import type { Game } from './game';
import { MoveList, generateCaptures, generateQuiet, hasCapture } from './movegen';
import { legalMoves, makeMove, moveFromList, type Move } from './move';
import { makePosition, type Position } from './position';
import { createRng } from './rng';
import { pieceCountScorer, type BatchScorer, type Scorer, type SyncScorer } from './scorer';
import { BLACK_PROMOTION, WHITE_PROMOTION } from './squares';
import type { TranspositionTable } from './table';
import { hashPosition, keyNumber } from './zobrist';

export { WIN_SCORE };

export interface SearchOptions {
  /** Maximum depth in plies (default 8 if no other limit is given, else 64). */
  readonly depth?: number;
  /** Stop after about this many nodes. */
  readonly nodes?: number;
  /** Stop after about this many milliseconds (makes the result timing-dependent). */
  readonly timeMs?: number;
  /** Default: pieceCountScorer(). search() needs a sync scorer; searchAsync() takes either. */
  readonly scorer?: Scorer;
  /** Scores leaves while a batch is pending (default pieceCountScorer()). */
  readonly fallbackScorer?: SyncScorer;
  /** Search rounds per depth with a batch scorer (default 3). */
  readonly batchRounds?: number;
  /** Pick at random (seeded) among root moves scoring within `randomMargin` of the best. */
  readonly randomize?: boolean;
  /** Default 0: only exact ties are candidates. */
  readonly randomMargin?: number;
  /** Seed for the random choice (default 1). Same seed, same limits (no time limit) → same result. */
  readonly seed?: number;
  /** Use the transposition table (default true; off to measure its effect). */
  readonly useTable?: boolean;
  /** log2 of the table's slot count (default 18: 262 144 slots of 24 bytes, about 6 MB). */
  readonly tableBits?: number;
  /** A table to use (and keep) instead of a fresh one; overrides tableBits. */
  readonly table?: TranspositionTable;
  /** Earlier positions of the game, oldest first, for repetition draws (a Game supplies its own). */
  readonly history?: readonly Position[];
  /** Plies without capture or man move after which search scores a draw (default 50, or the Game's rule). */
  readonly quietPlyLimit?: number;
}

export interface SearchResult {
  /** The chosen move; null when the side to move has no legal move (it has lost). */
  readonly move: Move | null;
  /** Score of the best move for the side to move (WIN_SCORE - n: wins in n plies). */
  readonly score: number;
  /** Depth of the last completed iteration. */
  readonly depth: number;
  readonly nodes: number;
  /** Principal variation starting with `move`. */
  readonly pv: readonly Move[];
  /** Table probes that found the position. */
  readonly ttHits: number;
  readonly timeMs: number;
  /** Root moves that were candidates for the random choice (just `move` without randomize). */
  readonly candidates: number;
  /** Positions sent to a batch scorer, and in how many calls. */
  readonly batchedPositions: number;
  readonly batches: number;
  /** Why the search ended. */
  readonly stoppedBy: 'depth' | 'nodes' | 'time' | 'no-moves';
}

interface RootResult {
  readonly score: number;
  readonly best: number;
  readonly candidates: readonly number[];
}

interface Child {
  readonly own: number;
  readonly opp: number;
  readonly kings: number;
  readonly lo: number;
  readonly hi: number;
  readonly quiet: number;
}

/** One search: the root position, its moves, and the iterations done so far. */
class Run {
  readonly searcher: Searcher;
  readonly pos: Position;
  readonly white: boolean;
  readonly own: number;
  readonly opp: number;
  readonly kings: number;
  readonly lo: number;
  readonly hi: number;
  readonly rootList = new MoveList();
  rootOrder: number[];
  readonly rootPv: number[][];
  readonly maxDepth: number;
  completed: RootResult | null = null;
  completedDepth = 0;
  partialBest = -1;
  partialScore = 0;
  batches = 0;
  batchedPositions = 0;

  constructor(
    input: Position | Game,
    readonly options: SearchOptions,
    scorer: SyncScorer,
  ) {
    const [pos, history] =
      'positions' in input
        ? [input.positions[input.positions.length - 1] as Position, input.positions.slice(0, -1)]
        : [input, options.history ?? []];
    this.pos = pos;
    // A game's own move limit bounds the search's quiet-move horizon unless the caller set one.
    const quietPlyLimit =
      options.quietPlyLimit ?? ('positions' in input ? 2 * input.rules.moveLimit : undefined);
    this.searcher = new Searcher({ ...options, quietPlyLimit }, scorer, history, pos);
    this.white = pos.turn === 'white';
    this.own = (this.white ? pos.white : pos.black) | 0;
    this.opp = (this.white ? pos.black : pos.white) | 0;
    this.kings = pos.kings | 0;
    const key = hashPosition(pos);
    this.lo = key.lo;
    this.hi = key.hi;
    if (hasCapture(this.own, this.opp, this.kings, this.white))
      generateCaptures(this.own, this.opp, this.kings, this.white, this.rootList);
    else generateQuiet(this.own, this.opp, this.kings, this.white, this.rootList);
    this.rootOrder = Array.from({ length: this.rootList.count }, (_, i) => i);
    this.rootPv = this.rootOrder.map(() => []);
    const limited = options.nodes !== undefined || options.timeMs !== undefined;
    this.maxDepth = Math.max(1, Math.min(MAX_PLY - 8, options.depth ?? (limited ? 64 : 8)));
  }

  child(i: number): Child {
    const list = this.rootList;
    const fromBit = list.from[i] as number;
    const toBit = list.to[i] as number;
    const f = 1 << fromBit;
    const t = 1 << toBit;
    const cap = list.captured[i] as number;
    const isKing = (this.kings & f) !== 0;
    let kings = this.kings & ~cap;
    if (isKing) kings = (kings & ~f) | t;
    else if ((t & (this.white ? WHITE_PROMOTION : BLACK_PROMOTION)) !== 0) kings |= t;
    const pos = this.white
      ? makePosition((this.own & ~f) | t, this.opp & ~cap, kings, 'black')
      : makePosition(this.opp & ~cap, (this.own & ~f) | t, kings, 'white');
    const key = hashPosition(pos);
    const quiet = isKing && cap === 0 ? this.searcher.rootQuiet + 1 : 0;
    return { own: this.opp & ~cap, opp: (this.own & ~f) | t, kings, lo: key.lo, hi: key.hi, quiet };
  }

  /** Searches the root to `depth`; null if a limit stopped it first. */
  iterate(depth: number): RootResult | null {
    const s = this.searcher;
    const randomize = this.options.randomize ?? false;
    const margin = randomize ? Math.max(0, this.options.randomMargin ?? 0) : 0;
    s.repLo[s.repBase] = this.lo;
    s.repHi[s.repBase] = this.hi;
    s.nodes++;
    const scores = new Map<number, number>();
    let best = -INF;
    let bestIdx = -1;
    for (const i of this.rootOrder) {
      // With randomize, near-best moves need exact scores, so the window opens below the best.
      const floor = randomize ? best - margin - 1e-9 : best;
      const c = this.child(i);
      const score = -s.negamax(
        c.own,
        c.opp,
        c.kings,
        !this.white,
        depth - 1,
        -INF,
        -floor,
        1,
        c.lo,
        c.hi,
        c.quiet,
      );
      if (s.stopped !== null) {
        if (bestIdx >= 0) {
          this.partialBest = bestIdx;
          this.partialScore = best;
        }
        return null;
      }
      scores.set(i, score);
      if (score > floor) {
        const list = this.rootList;
        const line = [list.from[i] as number, list.to[i] as number, list.captured[i] as number];
        for (let j = 0; j < (s.pvLen[1] as number); j++)
          line.push(
            s.pvFrom[MAX_PLY + j] as number,
            s.pvTo[MAX_PLY + j] as number,
            s.pvCap[MAX_PLY + j] as number,
          );
        this.rootPv[i] = line;
      }
      if (score > best) {
        best = score;
        bestIdx = i;
      }
    }
    const candidates = randomize
      ? this.rootOrder.filter((i) => (scores.get(i) ?? -INF) >= best - margin)
      : [bestIdx];
    this.rootOrder = [...this.rootOrder].sort(
      (a, b) => (scores.get(b) ?? -INF) - (scores.get(a) ?? -INF),
    );
    return { score: best, best: bestIdx, candidates: [...candidates].sort((a, b) => a - b) };
  }

  accept(depth: number, r: RootResult): void {
    this.completed = r;
    this.completedDepth = depth;
  }

  /** Stop deepening: a forced result is known, or the next iteration would likely overrun the time. */
  done(r: RootResult): boolean {
    if (Math.abs(r.score) > WIN_THRESHOLD) return true;
    const { timeMs } = this.options;
    // Each iteration costs a few times the previous one; past 60% of the budget the next one
    // would almost surely be cut off and wasted.
    if (timeMs !== undefined && Date.now() - this.searcher.started > 0.6 * timeMs) {
      this.searcher.stopped = 'time';
      return true;
    }
    return false;
  }

  result(): SearchResult {
    const s = this.searcher;
    const common = {
      nodes: s.nodes,
      ttHits: s.ttHits,
      timeMs: Date.now() - s.started,
      batches: this.batches,
      batchedPositions: this.batchedPositions,
    };
    if (this.rootList.count === 0) {
      return {
        ...common,
        move: null,
        score: -WIN_SCORE,
        depth: 0,
        pv: [],
        candidates: 0,
        stoppedBy: 'no-moves',
      };
    }
    const stoppedBy = s.stopped ?? 'depth';
    const r = this.completed;
    let chosen: number;
    let score: number;
    let candidates = 1;
    if (r === null) {
      chosen = this.partialBest >= 0 ? this.partialBest : 0;
      score = this.partialBest >= 0 ? this.partialScore : 0;
    } else if (
      this.partialBest >= 0 &&
      this.partialBest !== r.best &&
      !(this.options.randomize ?? false) &&
      this.searcher.cache === null
    ) {
      // A limit cut the next iteration short, but not before a move beat the previous best
      // (searched first) at the greater depth: that is better information than the last
      // complete iteration. (Not with batch scorers: a cut round may hold provisional scores.)
      chosen = this.partialBest;
      score = this.partialScore + 0;
    } else {
      const rng = createRng(this.options.seed ?? 1);
      chosen =
        r.candidates.length > 1 ? (r.candidates[rng() % r.candidates.length] as number) : r.best;
      score = r.score + 0; // no -0 from negation
      candidates = r.candidates.length;
    }
    const move = moveFromList(this.rootList, chosen, this.kings, this.white);
    const line = this.rootPv[chosen] ?? [];
    return {
      ...common,
      move,
      score,
      depth: this.completedDepth,
      pv: replayPv(this.pos, move, line),
      candidates,
      stoppedBy,
    };
  }
}

/** Turns the engine's (from, to, captured) triples back into Moves, stopping at anything odd. */
function replayPv(pos: Position, first: Move, line: readonly number[]): Move[] {
  const pv: Move[] = [first];
  let p = makeMove(pos, first);
  for (let j = 3; j + 2 < line.length; j += 3) {
    const from = (line[j] as number) + 1;
    const to = (line[j + 1] as number) + 1;
    const cap = (line[j + 2] as number) >>> 0;
    const move = legalMoves(p).find(
      (m) => m.from === from && m.to === to && setOf(m.captured) === cap,
    );
    if (move === undefined) break;
    pv.push(move);
    p = makeMove(p, move);
  }
  return pv;
}

/**
 * Best move for the side to move with a synchronous scorer. Pass a Game (or `history`) so
 * repetitions count as draws.
 */
export function search(input: Position | Game, options: SearchOptions = {}): SearchResult {
  const scorer = options.scorer ?? pieceCountScorer();
  if (scorer.kind !== 'sync')
    throw new TypeError('search() needs a sync scorer; use searchAsync() with a batch scorer');
  const run = new Run(input, options, scorer);
  if (run.rootList.count > 0) {
    for (let depth = 1; depth <= run.maxDepth; depth++) {
      const r = run.iterate(depth);
      if (r === null) break;
      run.accept(depth, r);
      if (run.done(r)) break;
    }
  }
  return run.result();
}

/** Like search(), and also takes batch scorers (see the module comment for how batches are formed). */
export async function searchAsync(
  input: Position | Game,
  options: SearchOptions = {},
): Promise<SearchResult> {
  const scorer = options.scorer ?? pieceCountScorer();
  if (scorer.kind === 'sync') return search(input, options);
  const run = new Run(input, options, options.fallbackScorer ?? pieceCountScorer());
  const s = run.searcher;
  s.cache = new Map();
  const rounds = Math.max(1, options.batchRounds ?? 3);
  if (run.rootList.count > 0) {
    outer: for (let depth = 1; depth <= run.maxDepth; depth++) {
      for (let round = 0; ; round++) {
        s.pending = [];
        s.pendingKeys.clear();
        const r = run.iterate(depth);
        if (r === null) break outer;
        if (s.pending.length === 0 || round + 1 >= rounds) {
          run.accept(depth, r);
          if (run.done(r)) break outer;
          break;
        }
        await scoreInto(scorer, s.pending, s.cache, run);
        // Table entries were computed from provisional scores: search this depth again cleanly.
        s.clearTable();
      }
    }
  }
  return run.result();
}

async function scoreInto(
  scorer: BatchScorer,
  positions: Position[],
  cache: Map<number, number>,
  run: Run,
): Promise<void> {
  const scores = await scorer.scoreBatch(positions);
  if (scores.length !== positions.length)
    throw new Error(
      `scoreBatch returned ${scores.length} scores for ${positions.length} positions`,
    );
  run.batches++;
  run.batchedPositions += positions.length;
  for (let i = 0; i < positions.length; i++) {
    const key = hashPosition(positions[i] as Position);
    cache.set(keyNumber(key.lo, key.hi), scores[i] as number);
  }
}
