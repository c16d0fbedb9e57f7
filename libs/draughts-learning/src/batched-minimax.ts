/**
 * Batched neural minimax. libs/draughts' searchAsync re-searches each depth in rounds with
 * fallback scores for leaves not yet scored, so after its last round a few leaves may still
 * carry piece-count values: it is not exact, and its batches are whatever one round found.
 * Here the tree is explicit instead:
 *
 *   1. expand the whole tree to `depth` (captures extended past the horizon, as in libs/draughts:
 *      a position where the side to move must capture is never scored), storing nodes in flat
 *      arrays, children contiguous and after their parent;
 *   2. queue every leaf position once (transpositions share one slot) and send the queue to
 *      the scorer whenever it holds `batchSize` positions, without waiting: tree building goes
 *      on while the batch is scored, and each result fills its slots when it arrives;
 *   3. once every batch has resolved, one backward sweep (reverse creation order) computes the
 *      negamax values.
 *
 * No pruning: alpha-beta needs leaf values before it can cut, which is what batching delays.
 * At the depths used with a neural scorer (2–4 plies, ~10³–10⁴ leaves) the full tree is cheap
 * next to the network, and the result equals sequential minimax / alpha-beta exactly
 * (sequentialAlphaBeta below is the reference the tests hold it to).
 */
import {
  hashPosition,
  legalMoves,
  makeMove,
  WIN_SCORE,
  type BatchScorer,
  type Move,
  type Position,
} from '@conveyor/draughts';

export interface BatchedSearchOptions {
  readonly depth: number;
  /** Leaf positions per model call (default 256; at least 1). */
  readonly batchSize?: number;
  /** Capture extension stops this many plies past the horizon (default 12) so runaway king captures stay bounded. */
  readonly maxExtension?: number;
  /** When given, picks uniformly among root moves with exactly the best value. */
  readonly random?: () => number;
}

export interface BatchedSearchResult {
  /** null when the side to move has no legal move. */
  readonly move: Move | null;
  readonly score: number;
  /** Root moves sharing the best score. */
  readonly tied: readonly Move[];
  readonly nodes: number;
  /** Distinct leaf positions scored. */
  readonly leaves: number;
  /** scoreBatch calls made. */
  readonly calls: number;
}

const KIND_INNER = 0;
const KIND_LEAF = 1;
const KIND_TERMINAL = 2;

/** Win/loss scores: far outside any scorer's range, shorter wins better. */
export function lossScore(ply: number): number {
  return -(WIN_SCORE - ply);
}

export async function batchedMinimax(
  root: Position,
  scorer: BatchScorer,
  options: BatchedSearchOptions,
): Promise<BatchedSearchResult> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 256));
  const maxExtension = options.maxExtension ?? 12;
  const kind: number[] = [];
  const firstChild: number[] = [];
  const childCount: number[] = [];
  const slotOf: number[] = [];
  const terminalValue: number[] = [];
  let leafValues = new Float64Array(1024);
  const slots = new Map<string, number>();
  let queue: Position[] = [];
  let queueStart = 0;
  let slotCount = 0;
  let calls = 0;
  const pending: Promise<void>[] = [];
  const flush = (): void => {
    if (queue.length === 0) return;
    const batch = queue;
    const start = queueStart;
    queue = [];
    queueStart = slotCount;
    calls++;
    pending.push(
      scorer.scoreBatch(batch).then((values) => {
        if (values.length !== batch.length)
          throw new Error(`scorer returned ${values.length} values for ${batch.length} positions`);
        if (start + values.length > leafValues.length) {
          const grown = new Float64Array(Math.max(2 * leafValues.length, start + values.length));
          grown.set(leafValues);
          leafValues = grown;
        }
        leafValues.set(values, start);
      }),
    );
  };
  const newNode = (): number => {
    kind.push(KIND_INNER);
    firstChild.push(-1);
    childCount.push(0);
    slotOf.push(-1);
    terminalValue.push(0);
    return kind.length - 1;
  };
  const rootMoves = legalMoves(root);
  const expand = (
    node: number,
    pos: Position,
    moves: readonly Move[],
    depth: number,
    ply: number,
  ): void => {
    if (moves.length === 0) {
      kind[node] = KIND_TERMINAL;
      terminalValue[node] = lossScore(ply);
      return;
    }
    const mustCapture = moves[0]?.kind === 'capture';
    if (depth <= 0 && (!mustCapture || ply - options.depth >= maxExtension)) {
      kind[node] = KIND_LEAF;
      const key = hashPosition(pos);
      const k = `${key.lo}:${key.hi}`;
      let slot = slots.get(k);
      if (slot === undefined) {
        slot = slotCount++;
        slots.set(k, slot);
        queue.push(pos);
        if (queue.length >= batchSize) flush();
      }
      slotOf[node] = slot;
      return;
    }
    const first = kind.length;
    for (let i = 0; i < moves.length; i++) newNode();
    firstChild[node] = first;
    childCount[node] = moves.length;
    for (let i = 0; i < moves.length; i++) {
      const child = makeMove(pos, moves[i] as Move);
      expand(first + i, child, legalMoves(child), depth - 1, ply + 1);
    }
  };
  const rootNode = newNode();
  expand(rootNode, root, rootMoves, Math.max(1, options.depth), 0);
  flush();
  await Promise.all(pending);
  const value = new Float64Array(kind.length);
  for (let i = kind.length - 1; i >= 0; i--) {
    const k = kind[i];
    if (k === KIND_TERMINAL) value[i] = terminalValue[i] as number;
    else if (k === KIND_LEAF) value[i] = leafValues[slotOf[i] as number] as number;
    else {
      let best = -Infinity;
      const f = firstChild[i] as number;
      const end = f + (childCount[i] as number);
      for (let c = f; c < end; c++) best = Math.max(best, -(value[c] as number));
      value[i] = best;
    }
  }
  if (rootMoves.length === 0)
    return {
      move: null,
      score: lossScore(0),
      tied: [],
      nodes: kind.length,
      leaves: slotCount,
      calls,
    };
  const score = value[rootNode] as number;
  const f = firstChild[rootNode] as number;
  const tied = rootMoves.filter((_, i) => -(value[f + i] as number) === score);
  const pick = options.random && tied.length > 1 ? Math.floor(options.random() * tied.length) : 0;
  return {
    move: tied[pick] ?? null,
    score: score + 0,
    tied,
    nodes: kind.length,
    leaves: slotCount,
    calls,
  };
}

/**
 * The sequential reference: alpha-beta with the same leaf rules, one scorer call per leaf
 * (awaited before the search goes on). Also the "one call per position" baseline of the benchmark.
 */
export async function sequentialAlphaBeta(
  root: Position,
  scorer: BatchScorer,
  options: Pick<BatchedSearchOptions, 'depth' | 'maxExtension'> & { readonly prune?: boolean },
): Promise<{ move: Move | null; score: number; calls: number }> {
  const maxExtension = options.maxExtension ?? 12;
  const depth0 = Math.max(1, options.depth);
  const prune = options.prune ?? true;
  let calls = 0;
  const rec = async (
    pos: Position,
    depth: number,
    ply: number,
    alpha: number,
    beta: number,
  ): Promise<number> => {
    const moves = legalMoves(pos);
    if (moves.length === 0) return lossScore(ply);
    const mustCapture = moves[0]?.kind === 'capture';
    if (depth <= 0 && (!mustCapture || ply - depth0 >= maxExtension)) {
      calls++;
      const v = await scorer.scoreBatch([pos]);
      return v[0] as number;
    }
    let best = -Infinity;
    for (const m of moves) {
      const s = -(await rec(makeMove(pos, m), depth - 1, ply + 1, -beta, -Math.max(alpha, best)));
      if (s > best) best = s;
      if (prune && best >= beta) break;
    }
    return best;
  };
  const moves = legalMoves(root);
  if (moves.length === 0) return { move: null, score: lossScore(0), calls };
  let best = -Infinity;
  let bestMove: Move | null = null;
  for (const m of moves) {
    const s = -(await rec(makeMove(root, m), depth0 - 1, 1, -Infinity, -best));
    if (s > best) {
      best = s;
      bestMove = m;
    }
  }
  return { move: bestMove, score: best + 0, calls };
}
