/**
 * The alpha-beta core: negamax over int32 bitboards with a transposition table, move ordering
 * (table move, two killers per ply, history heuristic), a capture extension (a position where
 * the side to move must capture is never scored: its captures are searched, so the horizon
 * never falls inside an exchange), repetition and move-limit draws, and a triangular PV table.
 * search.ts drives it (iterative deepening, root moves, limits, batching).
 */
import * as bitboard from './bitboard';
import * as movegen from './movegen';
import * as position from './position';
import type { Position } from './position';
import { pieceCountKingValue, type SyncScorer } from './scorer';
import type { SearchOptions } from './search';
import * as squares from './squares';
import * as table from './table';
import * as zobrist from './zobrist';

// Module-local copies of imported bindings: compiled to CommonJS each use of an import is a
// getter call, which dominated the profile of the search loop.
const { popcount } = bitboard;
const { EXACT, LOWER, UPPER, TranspositionTable } = table;
type TranspositionTable = table.TranspositionTable;
const { makePosition } = position;
const { MAX_MOVES, MoveList, generateCaptures, generateQuiet, hasCapture, hasQuietMove } = movegen;
type MoveList = movegen.MoveList;
const { BLACK_PROMOTION, WHITE_PROMOTION } = squares;
const { hashPosition, keyNumber, nextKey, updateKey } = zobrist;

/** A win in n plies scores WIN_SCORE - n; scorers must stay far below this. */
export const WIN_SCORE = 1_000_000;
export const MAX_PLY = 128;
export const INF = Number.POSITIVE_INFINITY;
/**
 * Width of the "null" window of principal variation search, relative to the score: scores may
 * be fractional (neural scorers), so the window is a sliver rather than exactly one unit.
 */
const NULL_WINDOW = 1e-9;
/** Scores beyond this are wins or losses (with their distance in plies). */
export const WIN_THRESHOLD = WIN_SCORE - 2 * MAX_PLY;

export class Searcher {
  nodes = 0;
  ttHits = 0;
  stopped: 'nodes' | 'time' | null = null;
  // Allocated on first use of each ply: most searches never go deep, and lists are 6 kB each.
  readonly lists: (MoveList | undefined)[] = new Array<MoveList | undefined>(MAX_PLY).fill(
    undefined,
  );
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
    this.table = this.useTable
      ? (options.table ?? new TranspositionTable(options.tableBits ?? 18))
      : null;
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

  evaluate(
    own: number,
    opp: number,
    kings: number,
    white: boolean,
    lo: number,
    hi: number,
  ): number {
    const kv = this.kingValue;
    if (kv !== undefined && this.cache === null)
      return (
        popcount(own & ~kings) -
        popcount(opp & ~kings) +
        kv * (popcount(own & kings) - popcount(opp & kings))
      );
    const pos = white
      ? makePosition(own, opp, kings, 'white')
      : makePosition(opp, own, kings, 'black');
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
        else if (this.killerFrom[ply * 2 + 1] === from && this.killerTo[ply * 2 + 1] === to)
          key = 0x7fffffef;
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

  negamax(
    own: number,
    opp: number,
    kings: number,
    white: boolean,
    depth: number,
    alpha: number,
    beta: number,
    ply: number,
    lo: number,
    hi: number,
    quiet: number,
  ): number {
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
    if ((depth <= 0 && !captures) || ply >= MAX_PLY - 1)
      return this.evaluate(own, opp, kings, white, lo, hi);

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
          if (bound === EXACT || (bound === LOWER && s >= beta) || (bound === UPPER && s <= alpha))
            return s;
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
      const promotes = !isKing && (t & promo) !== 0;
      if (isKing) nKings = (nKings & ~f) | t;
      else if (promotes) nKings |= t;
      updateKey(lo, hi, kings, white, fromBit, toBit, cap, promotes);
      const cLo = nextKey.lo;
      const cHi = nextKey.hi;
      const nQuiet = isKing && cap === 0 ? quiet + 1 : 0;
      const nOwn = opp & ~cap;
      const nOpp = (own & ~f) | t;
      let score: number;
      if (k === 0)
        score = -this.negamax(
          nOwn,
          nOpp,
          nKings,
          !white,
          childDepth,
          -beta,
          -alpha,
          ply + 1,
          cLo,
          cHi,
          nQuiet,
        );
      else {
        // Principal variation search: after the first (best-ordered) move, only prove the
        // others are no better with a minimal window; search again fully if one is.
        const edge = alpha + NULL_WINDOW * (1 + Math.abs(alpha));
        score = -this.negamax(
          nOwn,
          nOpp,
          nKings,
          !white,
          childDepth,
          -edge,
          -alpha,
          ply + 1,
          cLo,
          cHi,
          nQuiet,
        );
        if (score > alpha && score < beta && this.stopped === null) {
          score = -this.negamax(
            nOwn,
            nOpp,
            nKings,
            !white,
            childDepth,
            -beta,
            -alpha,
            ply + 1,
            cLo,
            cHi,
            nQuiet,
          );
        }
      }
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
              this.historyTable[h] = Math.min(
                0x3fffffff,
                (this.historyTable[h] as number) + depth * depth,
              );
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
      entries[slot + 2] =
        (depth < 0 ? 0 : depth > 127 ? 127 : depth) |
        ((best >= beta ? LOWER : best > alphaStart ? EXACT : UPPER) << 8) |
        (bestMove << 10);
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
  return (
    (a.white & ~a.kings) === (b.white & ~b.kings) &&
    (a.black & ~a.kings) === (b.black & ~b.kings) &&
    ((a.white | a.black) ^ (b.white | b.black)) !== 0 &&
    popcount(a.white | a.black) === popcount(b.white | b.black)
  );
}
