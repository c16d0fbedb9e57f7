import type { CheckersDifficulty } from '@conveyor/contracts';
import type { Logger } from '@conveyor/observability';
import { DIFFICULTIES } from './difficulty';
import {
  EngineBusyError,
  EngineRejectedError,
  EngineTimeoutError,
  type Engine,
} from './engine/engine';
import { GameError } from './game-errors';
import {
  otherSide,
  type GameRecord,
  type MoveRecord,
  type Side,
  type Termination,
} from './game-record';
import type { GameView, StatusView } from './game-view';
import { StaleRevisionError, type GameStore } from './persistence/game-store';
import { writePdn } from './pdn';
import { matchMove, replayGame, type ReplayedGame } from './rules';

/**
 * The game use cases behind the HTTP API. Every request re-reads the game, replays it (the stored
 * moves are the source of truth), checks the request against the replayed state and writes with
 * the revision it read, so two racing requests can't both apply.
 */
export class GameService {
  /** Engine searches in flight, per game revision: a double-clicked "engine move" searches once. */
  private readonly engineInFlight = new Map<string, Promise<GameView>>();

  constructor(
    private readonly store: GameStore,
    private readonly engine: Engine,
    private readonly logger: Logger,
  ) {}

  async newGame(humanSide: Side, difficulty: CheckersDifficulty): Promise<GameView> {
    const record = await this.store.create({ humanSide, difficulty });
    this.logger.info({ gameId: record.id, humanSide, difficulty }, 'new game');
    return this.view(record, replayOf(record));
  }

  async get(id: string): Promise<GameView> {
    const record = await this.load(id);
    return this.view(record, replayOf(record));
  }

  async playHumanMove(id: string, moveText: string, revision?: number): Promise<GameView> {
    const record = await this.load(id);
    if (revision !== undefined && revision !== record.revision) {
      throw new GameError(
        'stale-revision',
        `the game is at revision ${record.revision}, not ${revision}: reload it and choose your move again`,
      );
    }
    const game = replayOf(record);
    const status = statusOf(record, game);
    if (status.state === 'finished') throw gameOver(status);
    if (status.awaiting !== 'human') {
      throw new GameError(
        'not-your-turn',
        `it is ${status.turn}'s turn and the engine plays ${status.turn}: ask for the engine's move (POST /api/games/${id}/engine-move)`,
      );
    }
    const matched = matchMove(game, moveText);
    if (!matched.ok) throw new GameError('illegal-move', matched.message, game.legalMoves);
    const moves: MoveRecord[] = [...record.moves, { by: 'human', notation: matched.notation }];
    return this.save(record, { moves, termination: null });
  }

  async engineMove(id: string): Promise<GameView> {
    const record = await this.load(id);
    const key = `${id}@${record.revision}`;
    const running = this.engineInFlight.get(key);
    if (running) return running;
    const work = this.searchAndPlay(record).finally(() => this.engineInFlight.delete(key));
    this.engineInFlight.set(key, work);
    return work;
  }

  private async searchAndPlay(record: GameRecord): Promise<GameView> {
    const game = replayOf(record);
    const status = statusOf(record, game);
    if (status.state === 'finished') throw gameOver(status);
    if (status.awaiting !== 'engine') {
      throw new GameError(
        'not-your-turn',
        `it is your turn (${status.turn} to move): play a move with POST /api/games/${record.id}/moves`,
      );
    }
    const outcome = await this.askEngine(record, game);
    if (outcome.kind !== 'move') {
      throw new GameError(
        'engine-failed',
        `the engine returned no move (${outcome.kind}); the game state may be inconsistent`,
      );
    }
    // The engine may run elsewhere (bus workers): its answer is checked like anyone else's move.
    const matched = matchMove(game, outcome.move);
    if (!matched.ok) {
      this.logger.error(
        { gameId: record.id, move: outcome.move, fen: game.fen },
        'engine proposed an illegal move',
      );
      throw new GameError(
        'engine-failed',
        `the engine proposed an illegal move ${outcome.move}: ${matched.message}`,
      );
    }
    const stats = {
      score: outcome.score,
      depth: outcome.depth,
      nodes: outcome.nodes,
      elapsedMs: outcome.elapsedMs,
    };
    const moves: MoveRecord[] = [
      ...record.moves,
      { by: 'engine', notation: matched.notation, stats },
    ];
    this.logger.info({ gameId: record.id, move: matched.notation, ...stats }, 'engine moved');
    return this.save(record, { moves, termination: null });
  }

  private async askEngine(record: GameRecord, game: ReplayedGame) {
    try {
      return await this.engine.chooseMove({
        fen: game.fen,
        history: game.fenHistory.slice(0, -1),
        difficulty: record.difficulty,
        search: DIFFICULTIES[record.difficulty],
        // Per game and ply: replaying a game (or retrying a request) gets the same engine move.
        seed: seedOf(record.id, record.moves.length),
      });
    } catch (error) {
      if (error instanceof EngineTimeoutError) throw new GameError('engine-timeout', error.message);
      if (error instanceof EngineBusyError)
        throw new GameError('engine-busy', `${error.message}; retry in a moment`);
      if (error instanceof EngineRejectedError) throw new GameError('engine-failed', error.message);
      throw error;
    }
  }

  /** Takes back the human's last move and every engine reply after it. */
  async undo(id: string): Promise<GameView> {
    const record = await this.load(id);
    if (record.termination) {
      throw new GameError(
        'game-over',
        `the game ended by ${record.termination.kind}; start a new game instead of undoing`,
      );
    }
    const lastHuman = record.moves.map((m) => m.by).lastIndexOf('human');
    if (lastHuman < 0)
      throw new GameError('nothing-to-undo', 'you have not moved yet, so there is nothing to undo');
    return this.save(record, { moves: record.moves.slice(0, lastHuman), termination: null });
  }

  async resign(id: string): Promise<GameView> {
    const record = await this.load(id);
    const status = statusOf(record, replayOf(record));
    if (status.state === 'finished') throw gameOver(status);
    return this.save(record, {
      moves: record.moves,
      termination: { kind: 'resignation', loser: record.humanSide },
    });
  }

  async claimDraw(id: string): Promise<GameView> {
    const record = await this.load(id);
    const game = replayOf(record);
    const status = statusOf(record, game);
    if (status.state === 'finished') throw gameOver(status);
    if (!game.drawClaim.available) {
      throw new GameError(
        'draw-not-claimable',
        `a draw can't be claimed now: ${game.drawClaim.why}`,
      );
    }
    const termination: Termination = {
      kind: 'draw-claim',
      claimedBy: record.humanSide,
      rule: game.drawClaim.rule,
    };
    return this.save(record, { moves: record.moves, termination });
  }

  async pdn(id: string): Promise<{ filename: string; text: string }> {
    const record = await this.load(id);
    const game = replayOf(record);
    const status = statusOf(record, game);
    const text = writePdn(record, game, status.state === 'finished' ? status.result : '*');
    return { filename: `checkers-${record.id}.pdn`, text };
  }

  private async load(id: string): Promise<GameRecord> {
    const record = await this.store.get(id);
    if (!record)
      throw new GameError(
        'game-not-found',
        `no game with id ${id}; create one with POST /api/games`,
      );
    return record;
  }

  private async save(
    record: GameRecord,
    changes: Pick<GameRecord, 'moves' | 'termination'>,
  ): Promise<GameView> {
    try {
      const saved = await this.store.update(record, changes);
      return this.view(saved, replayOf(saved));
    } catch (error) {
      if (error instanceof StaleRevisionError) throw new GameError('stale-revision', error.message);
      throw error;
    }
  }

  private view(record: GameRecord, game: ReplayedGame): GameView {
    const status = statusOf(record, game);
    const plays = game.plays.map((play, i) => {
      const stored = record.moves[i];
      return stored?.by === 'engine'
        ? { ...play, by: 'engine' as const, stats: stored.stats }
        : { ...play, by: 'human' as const };
    });
    return {
      id: record.id,
      humanSide: record.humanSide,
      difficulty: record.difficulty,
      revision: record.revision,
      fen: game.fen,
      board: game.board,
      moves: plays,
      legalMoves: status.state === 'ongoing' ? game.legalMoves : [],
      status,
      drawClaim:
        status.state === 'ongoing' && game.drawClaim.available
          ? { available: true, rule: game.drawClaim.rule }
          : { available: false },
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    };
  }
}

function replayOf(record: GameRecord): ReplayedGame {
  return replayGame(record.moves.map((m) => m.notation));
}

const RESULT_FOR_WINNER = { white: '1-0', black: '0-1' } as const;

/** A player's decision (resignation, draw claim) overrides the board; otherwise the board decides. */
export function statusOf(record: GameRecord, game: ReplayedGame): StatusView {
  const t = record.termination;
  if (t?.kind === 'resignation') {
    const winner = otherSide(t.loser);
    return {
      state: 'finished',
      result: RESULT_FOR_WINNER[winner],
      winner,
      reason: 'resignation',
      description: `${title(t.loser)} resigned: ${title(winner)} wins.`,
    };
  }
  if (t?.kind === 'draw-claim') {
    return {
      state: 'finished',
      result: '1/2-1/2',
      winner: null,
      reason: 'draw-claim',
      description: `${title(t.claimedBy)} claimed a draw (${t.rule}).`,
    };
  }
  const board = game.boardStatus;
  if (board.state === 'finished') {
    return {
      state: 'finished',
      result: board.winner ? RESULT_FOR_WINNER[board.winner] : '1/2-1/2',
      winner: board.winner,
      reason: board.reason,
      description: board.description,
    };
  }
  return {
    state: 'ongoing',
    turn: game.turn,
    awaiting: game.turn === record.humanSide ? 'human' : 'engine',
  };
}

function gameOver(status: Extract<StatusView, { state: 'finished' }>): GameError {
  return new GameError(
    'game-over',
    `the game is over (${status.result}: ${status.description}); start a new game`,
  );
}

function seedOf(gameId: string, ply: number): number {
  let h = 2166136261;
  for (const ch of `${gameId}:${ply}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

const title = (side: Side) => side.charAt(0).toUpperCase() + side.slice(1);
