import type { EngineMoveOutcome } from '@conveyor/contracts';
import {
  formatMovePath,
  parseFen,
  pieceCountScorer,
  search,
  TranspositionTable,
  type Position,
} from '@conveyor/draughts';
import type { EngineTask } from './engine';

/**
 * One engine search, as run inside a worker thread (or directly by benchmarks): the position
 * and budget in, a move or the reason there is none out. Never throws for bad input —
 * a bad position is an answer (`rejected`), so the caller can tell it from a crash.
 */
export function runSearch(task: EngineTask): EngineMoveOutcome {
  const position = parseFen(task.fen);
  if (!position.ok)
    return {
      kind: 'rejected',
      reason: `fen: ${position.error.message} (column ${position.error.column})`,
    };
  const history: Position[] = [];
  for (const [i, fen] of task.history.entries()) {
    const parsed = parseFen(fen);
    if (!parsed.ok) return { kind: 'rejected', reason: `history.${i}: ${parsed.error.message}` };
    history.push(parsed.value);
  }
  if (task.search.scorer !== 'piece-count') {
    return {
      kind: 'rejected',
      reason: `scorer '${task.search.scorer}' is not available in this engine build`,
    };
  }
  const result = search(position.value, {
    depth: task.search.maxDepth,
    nodes: task.search.maxNodes,
    timeMs: task.search.timeMs,
    scorer: pieceCountScorer(),
    history,
    randomize: task.search.randomMargin > 0,
    randomMargin: task.search.randomMargin,
    seed: task.seed,
    table: tableFor(task.search.maxNodes),
  });
  if (!result.move) return { kind: 'no-legal-moves' };
  return {
    kind: 'move',
    move: formatMovePath(result.move),
    score: result.score,
    depth: result.depth,
    nodes: result.nodes,
    elapsedMs: result.timeMs,
  };
}

/** This thread's transposition tables, one per size, kept across searches. */
const tables = new Map<number, TranspositionTable>();

/**
 * A transposition table about as large as the node budget (2^12 to 2^20 slots, ≤ 24 MB), reused
 * by every search of that size in this thread: allocating and zeroing a fresh table cost more
 * than a whole easy search, and what one search learned speeds up the next move of the game.
 * Entries are keyed by position, so reuse across games is sound; a stored draw-by-repetition
 * score may come from another game's history — the usual, accepted imprecision of engines.
 */
function tableFor(maxNodes: number): TranspositionTable {
  const bits = Math.min(20, Math.max(12, Math.ceil(Math.log2(maxNodes))));
  let table = tables.get(bits);
  if (!table) {
    table = new TranspositionTable(bits);
    tables.set(bits, table);
  }
  return table;
}
