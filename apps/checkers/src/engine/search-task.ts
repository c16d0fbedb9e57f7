import type { EngineMoveOutcome } from '@conveyor/contracts';
import {
  formatMovePath,
  parseFen,
  pieceCountScorer,
  search,
  TranspositionTable,
  type Position,
} from '@conveyor/draughts';
import { searchWithTies } from '@conveyor/draughts-learning';
import type { EngineTask } from './engine';
import { breakTie, type NeuralState } from './neural-tiebreak';

/**
 * Share of a `piece-count+neural-tiebreak` budget given to the alpha-beta search; the rest is
 * for enumerating the tied root moves and letting the network choose among them.
 */
export const ALPHA_BETA_SHARE = 0.85;

/**
 * One engine search, as run inside a worker thread (or directly by benchmarks): the position
 * and budget in, a move or the reason there is none out. Never throws for bad input —
 * a bad position is an answer (`rejected`), so the caller can tell it from a crash.
 * `neural` is the thread's network (absent or unavailable: the tie-break falls back).
 */
export async function runSearch(
  task: EngineTask,
  neural?: NeuralState,
  onTieBreakError?: (message: string) => void,
): Promise<EngineMoveOutcome> {
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
  if (task.search.scorer === 'piece-count+neural-tiebreak')
    return tieBreakSearch(task, position.value, history, neural, onTieBreakError);
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

/**
 * Hard: piece-count alpha-beta on most of the budget (ties kept exact and enumerated), then the
 * network chooses among the moves tied for the best within what is left of the budget.
 */
async function tieBreakSearch(
  task: EngineTask,
  position: Position,
  history: Position[],
  neural: NeuralState | undefined,
  onTieBreakError: ((message: string) => void) | undefined,
): Promise<EngineMoveOutcome> {
  const started = Date.now();
  const budget = task.search.timeMs;
  const alphaBetaMs = Math.max(1, Math.round(budget * ALPHA_BETA_SHARE));
  const result = searchWithTies(
    position,
    {
      depth: task.search.maxDepth,
      nodes: task.search.maxNodes,
      timeMs: alphaBetaMs,
      scorer: pieceCountScorer(),
      history,
      seed: task.seed,
      table: tableFor(task.search.maxNodes),
    },
    // Enumeration may use half of what is left; the network gets the rest.
    { deadline: started + alphaBetaMs + (budget - alphaBetaMs) / 2 },
  );
  const chosen = result.search.move;
  if (!chosen) return { kind: 'no-legal-moves' };
  const tie = await breakTie(
    neural ?? { kind: 'unavailable', reason: 'no network in this engine', modelDir: '' },
    position,
    result.tied,
    chosen,
    started + budget - Date.now(),
  );
  if (tie.error !== undefined) onTieBreakError?.(tie.error);
  return {
    kind: 'move',
    move: formatMovePath(tie.move),
    score: result.search.score,
    depth: result.search.depth,
    nodes: result.search.nodes,
    elapsedMs: Date.now() - started,
    tieBreak: { tied: result.expectedTies, by: tie.by },
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
