/**
 * Alpha-beta search (negamax) with iterative deepening, a transposition table keyed by Zobrist
 * hashes, move ordering (table move, killers, history) and a capture extension: a position
 * where the side to move must capture is never scored, the captures are searched instead, so the
 * horizon never falls in the middle of an exchange.
 *
 * Batched scorers: alpha-beta wants one score at a time, a neural scorer wants thousands per
 * call. searchAsync runs each depth in rounds: leaves not yet scored get a provisional score
 * from the fallback scorer and are queued; the queue is scored in one batch and the depth is
 * searched again with the real scores, until no leaf is missing or `batchRounds` is reached.
 */
import * as bitboard from './bitboard';
import type { Game } from './game';
import * as movegen from './movegen';
import { legalMoves, moveFromList, type Move } from './move';
import * as position from './position';
import type { Position } from './position';
import { createRng } from './rng';
import { pieceCountKingValue, pieceCountScorer, type BatchScorer, type Scorer, type SyncScorer } from './scorer';
import * as squares from './squares';
import * as table from './table';
import * as zobrist from './zobrist';

// Module-local copies of imported bindings: compiled to CommonJS each use of an import is a
// getter call, which dominated the profile of the search loop.
const { lowestBit, popcount } = bitboard;
const { EXACT, LOWER, UPPER, TranspositionTable } = table;
type TranspositionTable = table.TranspositionTable;
const { makePosition } = position;
const { MAX_MOVES, MoveList, generateCaptures, generateQuiet, hasCapture, hasQuietMove } = movegen;
type MoveList = movegen.MoveList;
const { BLACK_PROMOTION, WHITE_PROMOTION } = squares;
const { BLACK_KING, BLACK_MAN, SIDE_HI, SIDE_LO, WHITE_KING, WHITE_MAN, ZOBRIST_HI, ZOBRIST_LO, hashPosition, keyNumber } = zobrist;

/** A win in n plies scores WIN_SCORE - n; scorers must stay far below this. */
export const WIN_SCORE = 1_000_000;
const MAX_PLY = 128;
const INF = Number.POSITIVE_INFINITY;
const WIN_THRESHOLD = WIN_SCORE - 2 * MAX_PLY;

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
  /** log2 of the table's entry count (default 18: 262 144 entries, about 5 MB). */
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

class Searcher {
  nodes = 0;
  ttHits = 0;
  stopped: 'nodes' | 'time' | null = null;
  // Allocated on first use of each ply: most searches never go deep, and lists are 24 kB each.
  readonly lists: (MoveList | undefined)[] = new Array<MoveList | undefined>(MAX_PLY).fill(undefined);
  readonly order = new Int32Array(MAX_PLY * MAX_MOVES);
  readonly killerFrom = new Int32Array(MAX_PLY * 2).fill(-1);
  readonly killerTo = new Int32Array(MAX_PLY * 2).fill(-1);
  readonly historyTable = new Int32Array(32 * 32);
  readonly pvFrom = new Int8Array(MAX_PLY * MAX_PLY);
  readonly pvTo = new Int8Array(MAX_PLY * MAX_PLY);
  readonly pvCap = new Int32Array(MAX_PLY * MAX_PLY);
  readonly pvLen = new Int32Array(MAX_PLY + 1);
  readonly repLo: Int32Array;
  readonly repHi: Int32Array;
  readonly repBase: number;
  readonly rootQuiet: number;
  readonly table: TranspositionTable | null;
  readonly started = Date.now();
  readonly useTable: boolean;
  readonly quietLimit: number;
  /** Set when the scorer is a plain piece count: evaluate then needs no Position object. */
  readonly kingValue: number | undefined;
  // Batch mode: scores by key, and positions still waiting for a score.
  cache: Map<number, number> | null = null;
  pending: Position[] = [];
  readonly pendingKeys = new Set<number>();

  constructor(
    readonly options: SearchOptions,
    readonly scorer: SyncScorer,
    history: readonly Position[],
    root: Position,
  ) {
    this.useTable = options.useTable ?? true;
    this.table = this.useTable ? (options.table ?? new TranspositionTable(options.tableBits ?? 18)) : null;
    this.quietLimit = options.quietPlyLimit ?? 50;
    this.kingValue = pieceCountKingValue.get(scorer);
    this.repLo = new Int32Array(history.length + MAX_PLY + 1);
    this.repHi = new Int32Array(history.length + MAX_PLY + 1);
    let quiet = 0;
    for (let i = 0; i < history.length; i++) {
      const p = history[i] as Position;
      const key = hashPosition(p);
      this.repLo[i] = key.lo;
      this.repHi[i] = key.hi;
      quiet = reversibleStep(p, history[i + 1] ?? root) ? quiet + 1 : 0;
    }
    this.repBase = history.length;
    this.rootQuiet = quiet;
  }

  clearTable(): void {
    this.table?.clear();
  }

  checkLimits(): void {
    const { nodes, timeMs } = this.options;
    if (nodes !== undefined && this.nodes >= nodes) this.stopped = 'nodes';
    else if (timeMs !== undefined && Date.now() - this.started >= timeMs) this.stopped = 'time';
  }

  evaluate(own: number, opp: number, kings: number, white: boolean, lo: number, hi: number): number {
    const kv = this.kingValue;
    if (kv !== undefined && this.cache === null) return popcount(own & ~kings) - popcount(opp & ~kings) + kv * (popcount(own & kings) - popcount(opp & kings));
    const pos = white ? makePosition(own, opp, kings, 'white') : makePosition(opp, own, kings, 'black');
    const cache = this.cache;
    if (cache === null) return this.scorer.score(pos);
    const key = keyNumber(lo, hi);
    const known = cache.get(key);
    if (known !== undefined) return known;
    if (!this.pendingKeys.has(key)) {
      this.pendingKeys.add(key);
      this.pending.push(pos);
    }
    return this.scorer.score(pos);
  }

  /** Sorts moves of `list` into order[base..]: table move, killers, then history. */
  orderMoves(list: MoveList, ply: number, ttMove: number): void {
    const base = ply * MAX_MOVES;
    const n = list.count;
    const keys = scratchKeys;
    for (let i = 0; i < n; i++) {
      const from = list.from[i] as number;
      const to = list.to[i] as number;
      let key = this.historyTable[from * 32 + to] as number;
      if (i === ttMove) key = 0x7fffffff;
      else if (!list.captures) {
        if (this.killerFrom[ply * 2] === from && this.killerTo[ply * 2] === to) key = 0x7ffffff0;
        else if (this.killerFrom[ply * 2 + 1] === from && this.killerTo[ply * 2 + 1] === to) key = 0x7fffffef;
      }
      keys[i] = key;
      this.order[base + i] = i;
    }
    // Insertion sort: lists are short and stability keeps the search deterministic.
    for (let i = 1; i < n; i++) {
      const idx = this.order[base + i] as number;
      const k = keys[idx] as number;
      let j = i - 1;
      while (j >= 0 && (keys[this.order[base + j] as number] as number) < k) {
        this.order[base + j + 1] = this.order[base + j] as number;
        j--;
      }
      this.order[base + j + 1] = idx;
    }
  }

  negamax(own: number, opp: number, kings: number, white: boolean, depth: number, alpha: number, beta: number, ply: number, lo: number, hi: number, quiet: number): number {
    this.nodes++;
    this.pvLen[ply] = 0;
    if ((this.nodes & 1023) === 0) this.checkLimits();
    if (this.stopped !== null) return 0;
    const sp = this.repBase + ply;
    this.repLo[sp] = lo;
    this.repHi[sp] = hi;
    // Same order as the game's rules: no move loses, before repetition and move-limit draws.
    const captures = hasCapture(own, opp, kings, white);
    if (!captures && !hasQuietMove(own, opp, kings, white)) return -(WIN_SCORE - ply);
    if (quiet >= this.quietLimit) return 0;
    for (let i = sp - 2; i >= sp - quiet && i >= 0; i -= 2) {
      if (this.repLo[i] === lo && this.repHi[i] === hi) return 0;
    }
    if ((depth <= 0 && !captures) || ply >= MAX_PLY - 1) return this.evaluate(own, opp, kings, white, lo, hi);

    let ttMove = -1;
    let slot = 0;
    const tt = this.table;
    if (tt !== null) {
      slot = (lo & tt.mask) << 2;
      const entries = tt.entries;
      const meta = entries[slot + 2] as number;
      if (meta !== 0 && entries[slot] === lo && entries[slot + 1] === hi) {
        this.ttHits++;
        ttMove = meta >>> 10;
        if ((meta & 0xff) >= depth) {
          let s = tt.scores[slot >> 2] as number;
          if (s > WIN_THRESHOLD) s -= ply;
          else if (s < -WIN_THRESHOLD) s += ply;
          const bound = (meta >>> 8) & 3;
          if (bound === EXACT || (bound === LOWER && s >= beta) || (bound === UPPER && s <= alpha)) return s;
        }
      }
    }

    let list = this.lists[ply];
    if (list === undefined) {
      list = new MoveList();
      this.lists[ply] = list;
    }
    if (captures) generateCaptures(own, opp, kings, white, list);
    else generateQuiet(own, opp, kings, white, list);
    const n = list.count;
    if (n === 0) return -(WIN_SCORE - ply);
    if (ttMove >= n) ttMove = -1;
    this.orderMoves(list, ply, ttMove);

    const promo = white ? WHITE_PROMOTION : BLACK_PROMOTION;
    const ownMan = white ? WHITE_MAN : BLACK_MAN;
    const ownKing = white ? WHITE_KING : BLACK_KING;
    const oppMan = white ? BLACK_MAN : WHITE_MAN;
    const oppKing = white ? BLACK_KING : WHITE_KING;
    const childDepth = depth <= 0 ? 0 : depth - 1;
    const alphaStart = alpha;
    let best = -INF;
    let bestMove = 0;
    const base = ply * MAX_MOVES;
    for (let k = 0; k < n; k++) {
      const i = this.order[base + k] as number;
      const fromBit = list.from[i] as number;
      const toBit = list.to[i] as number;
      const f = 1 << fromBit;
      const t = 1 << toBit;
      const cap = list.captured[i] as number;
      const isKing = (kings & f) !== 0;
      let nKings = kings & ~cap;
      let cLo = lo ^ SIDE_LO;
      let cHi = hi ^ SIDE_HI;
      const fromKind = isKing ? ownKing : ownMan;
      let toKind = fromKind;
      if (isKing) nKings = (nKings & ~f) | t;
      else if ((t & promo) !== 0) {
        nKings |= t;
        toKind = ownKing;
      }
      cLo ^= (ZOBRIST_LO[fromKind * 32 + fromBit] as number) ^ (ZOBRIST_LO[toKind * 32 + toBit] as number);
      cHi ^= (ZOBRIST_HI[fromKind * 32 + fromBit] as number) ^ (ZOBRIST_HI[toKind * 32 + toBit] as number);
      for (let c = cap; c !== 0; c &= c - 1) {
        const b = lowestBit(c);
        const kind = (kings & (1 << b)) !== 0 ? oppKing : oppMan;
        cLo ^= ZOBRIST_LO[kind * 32 + b] as number;
        cHi ^= ZOBRIST_HI[kind * 32 + b] as number;
      }
      const nQuiet = isKing && cap === 0 ? quiet + 1 : 0;
      const score = -this.negamax(opp & ~cap, (own & ~f) | t, nKings, !white, childDepth, -beta, -alpha, ply + 1, cLo, cHi, nQuiet);
      if (this.stopped !== null) return 0;
      if (score > best) {
        best = score;
        bestMove = i;
        if (score > alpha) {
          alpha = score;
          this.updatePv(ply, fromBit, toBit, cap);
          if (score >= beta) {
            if (cap === 0) {
              if (this.killerFrom[ply * 2] !== fromBit || this.killerTo[ply * 2] !== toBit) {
                this.killerFrom[ply * 2 + 1] = this.killerFrom[ply * 2] as number;
                this.killerTo[ply * 2 + 1] = this.killerTo[ply * 2] as number;
                this.killerFrom[ply * 2] = fromBit;
                this.killerTo[ply * 2] = toBit;
              }
              const h = fromBit * 32 + toBit;
              this.historyTable[h] = Math.min(0x3fffffff, (this.historyTable[h] as number) + depth * depth);
            }
            break;
          }
        }
      }
    }

    if (tt !== null) {
      let stored = best;
      if (stored > WIN_THRESHOLD) stored += ply;
      else if (stored < -WIN_THRESHOLD) stored -= ply;
      const entries = tt.entries;
      entries[slot] = lo;
      entries[slot + 1] = hi;
      // The bound is never EMPTY (0), so a stored meta word is never 0: 0 marks a free slot.
      entries[slot + 2] = (depth < 0 ? 0 : depth > 127 ? 127 : depth) | ((best >= beta ? LOWER : best > alphaStart ? EXACT : UPPER) << 8) | (bestMove << 10);
      tt.scores[slot >> 2] = stored;
    }
    return best;
  }

  updatePv(ply: number, from: number, to: number, cap: number): void {
    const row = ply * MAX_PLY;
    const childRow = (ply + 1) * MAX_PLY;
    this.pvFrom[row] = from;
    this.pvTo[row] = to;
    this.pvCap[row] = cap;
    const childLen = ply + 1 < MAX_PLY ? (this.pvLen[ply + 1] as number) : 0;
    for (let j = 0; j < childLen && j + 1 < MAX_PLY; j++) {
      this.pvFrom[row + j + 1] = this.pvFrom[childRow + j] as number;
      this.pvTo[row + j + 1] = this.pvTo[childRow + j] as number;
      this.pvCap[row + j + 1] = this.pvCap[childRow + j] as number;
    }
    this.pvLen[ply] = Math.min(MAX_PLY, childLen + 1);
  }
}

const scratchKeys = new Int32Array(MAX_MOVES);

function reversibleStep(a: Position, b: Position): boolean {
  // Same men, same number of pieces: only a king moved, without capturing.
  return (a.white & ~a.kings) === (b.white & ~b.kings) && (a.black & ~a.kings) === (b.black & ~b.kings) && ((a.white | a.black) ^ (b.white | b.black)) !== 0 && popcount32(a.white | a.black) === popcount32(b.white | b.black);
}

function popcount32(x: number): number {
  let n = 0;
  for (let v = x | 0; v !== 0; v &= v - 1) n++;
  return n;
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
    const [pos, history] = 'positions' in input ? [input.positions[input.positions.length - 1] as Position, input.positions.slice(0, -1)] : [input, options.history ?? []];
    this.pos = pos;
    // A game's own move limit bounds the search's quiet-move horizon unless the caller set one.
    const quietPlyLimit = options.quietPlyLimit ?? ('positions' in input ? 2 * input.rules.moveLimit : undefined);
    this.searcher = new Searcher({ ...options, quietPlyLimit }, scorer, history, pos);
    this.white = pos.turn === 'white';
    this.own = (this.white ? pos.white : pos.black) | 0;
    this.opp = (this.white ? pos.black : pos.white) | 0;
    this.kings = pos.kings | 0;
    const key = hashPosition(pos);
    this.lo = key.lo;
    this.hi = key.hi;
    if (hasCapture(this.own, this.opp, this.kings, this.white)) generateCaptures(this.own, this.opp, this.kings, this.white, this.rootList);
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
    const pos = this.white ? makePosition((this.own & ~f) | t, this.opp & ~cap, kings, 'black') : makePosition(this.opp & ~cap, (this.own & ~f) | t, kings, 'white');
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
      const score = -s.negamax(c.own, c.opp, c.kings, !this.white, depth - 1, -INF, -floor, 1, c.lo, c.hi, c.quiet);
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
        for (let j = 0; j < (s.pvLen[1] as number); j++) line.push(s.pvFrom[MAX_PLY + j] as number, s.pvTo[MAX_PLY + j] as number, s.pvCap[MAX_PLY + j] as number);
        this.rootPv[i] = line;
      }
      if (score > best) {
        best = score;
        bestIdx = i;
      }
    }
    const candidates = randomize ? this.rootOrder.filter((i) => (scores.get(i) ?? -INF) >= best - margin) : [bestIdx];
    this.rootOrder = [...this.rootOrder].sort((a, b) => (scores.get(b) ?? -INF) - (scores.get(a) ?? -INF));
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
    const common = { nodes: s.nodes, ttHits: s.ttHits, timeMs: Date.now() - s.started, batches: this.batches, batchedPositions: this.batchedPositions };
    if (this.rootList.count === 0) {
      return { ...common, move: null, score: -WIN_SCORE, depth: 0, pv: [], candidates: 0, stoppedBy: 'no-moves' };
    }
    const stoppedBy = s.stopped ?? 'depth';
    const r = this.completed;
    let chosen: number;
    let score: number;
    let candidates = 1;
    if (r === null) {
      chosen = this.partialBest >= 0 ? this.partialBest : 0;
      score = this.partialBest >= 0 ? this.partialScore : 0;
    } else {
      const rng = createRng(this.options.seed ?? 1);
      chosen = r.candidates.length > 1 ? (r.candidates[rng() % r.candidates.length] as number) : r.best;
      score = r.score + 0; // no -0 from negation
      candidates = r.candidates.length;
    }
    const move = moveFromList(this.rootList, chosen, this.kings, this.white);
    const line = this.rootPv[chosen] ?? [];
    return { ...common, move, score, depth: this.completedDepth, pv: replayPv(this.pos, move, line), candidates, stoppedBy };
  }
}

/** Turns the engine's (from, to, captured) triples back into Moves, stopping at anything odd. */
function replayPv(pos: Position, first: Move, line: readonly number[]): Move[] {
  const pv: Move[] = [first];
  let p = applyMove(pos, first);
  for (let j = 3; j + 2 < line.length; j += 3) {
    const from = (line[j] as number) + 1;
    const to = (line[j + 1] as number) + 1;
    const cap = line[j + 2] as number;
    const move = legalMoves(p).find((m) => m.from === from && m.to === to && capturedSet(m) === cap);
    if (move === undefined) break;
    pv.push(move);
    p = applyMove(p, move);
  }
  return pv;
}

function capturedSet(m: Move): number {
  let set = 0;
  for (const c of m.captured) set |= 1 << (c - 1);
  return set;
}

function applyMove(pos: Position, m: Move): Position {
  const f = 1 << (m.from - 1);
  const t = 1 << (m.to - 1);
  const cap = capturedSet(m);
  let kings = pos.kings & ~cap;
  if ((pos.kings & f) !== 0) kings = (kings & ~f) | t;
  else if (m.promotes) kings |= t;
  return pos.turn === 'white' ? makePosition((pos.white & ~f) | t, pos.black & ~cap, kings, 'black') : makePosition(pos.white & ~cap, (pos.black & ~f) | t, kings, 'white');
}

/**
 * Best move for the side to move with a synchronous scorer. Pass a Game (or `history`) so
 * repetitions count as draws.
 */
export function search(input: Position | Game, options: SearchOptions = {}): SearchResult {
  const scorer = options.scorer ?? pieceCountScorer();
  if (scorer.kind !== 'sync') throw new TypeError('search() needs a sync scorer; use searchAsync() with a batch scorer');
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
export async function searchAsync(input: Position | Game, options: SearchOptions = {}): Promise<SearchResult> {
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

async function scoreInto(scorer: BatchScorer, positions: Position[], cache: Map<number, number>, run: Run): Promise<void> {
  const scores = await scorer.scoreBatch(positions);
  if (scores.length !== positions.length) throw new Error(`scoreBatch returned ${scores.length} scores for ${positions.length} positions`);
  run.batches++;
  run.batchedPositions += positions.length;
  for (let i = 0; i < positions.length; i++) {
    const key = hashPosition(positions[i] as Position);
    cache.set(keyNumber(key.lo, key.hi), scores[i] as number);
  }
}
