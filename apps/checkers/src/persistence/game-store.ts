import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { checkersDifficultySchema } from '@conveyor/contracts';
import type { GameRecord, MoveRecord, Side, Termination } from '../game-record';
import type { Db, GamesTable } from './database';

/** Another request changed the game between our read and our write. */
export class StaleRevisionError extends Error {
  override readonly name = 'StaleRevisionError';
  constructor(
    readonly gameId: string,
    readonly expected: number,
  ) {
    super(`game ${gameId} changed since revision ${expected}; reload it and retry`);
  }
}

const sideSchema = z.enum(['white', 'black']);
const moveRecordSchema = z.discriminatedUnion('by', [
  z.object({ by: z.literal('human'), notation: z.string() }),
  z.object({
    by: z.literal('engine'),
    notation: z.string(),
    stats: z.object({
      score: z.number(),
      depth: z.number(),
      nodes: z.number(),
      elapsedMs: z.number(),
    }),
  }),
]);
const terminationSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('resignation'), loser: sideSchema }),
  z.object({ kind: z.literal('draw-claim'), claimedBy: sideSchema, rule: z.string() }),
]);

export interface NewGame {
  readonly humanSide: Side;
  readonly difficulty: GameRecord['difficulty'];
}

export interface GameChanges {
  readonly moves: readonly MoveRecord[];
  readonly termination: Termination | null;
}

/** Durable games; rows are validated on the way out so a bad row fails loudly, not downstream. */
export class GameStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(game: NewGame): Promise<GameRecord> {
    const at = this.now().toISOString();
    const record: GameRecord = {
      id: randomUUID(),
      humanSide: game.humanSide,
      difficulty: game.difficulty,
      moves: [],
      termination: null,
      revision: 1,
      createdAt: at,
      updatedAt: at,
    };
    await this.db.insertInto('checkers_games').values(toRow(record)).execute();
    return record;
  }

  async get(id: string): Promise<GameRecord | undefined> {
    const row = await this.db
      .selectFrom('checkers_games')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }

  /** Writes the changes only if the game is still at `game.revision`; else StaleRevisionError. */
  async update(game: GameRecord, changes: GameChanges): Promise<GameRecord> {
    const next: GameRecord = {
      ...game,
      moves: changes.moves,
      termination: changes.termination,
      revision: game.revision + 1,
      updatedAt: this.now().toISOString(),
    };
    const result = await this.db
      .updateTable('checkers_games')
      .set({
        moves: JSON.stringify(next.moves),
        termination: next.termination ? JSON.stringify(next.termination) : null,
        revision: next.revision,
        updated_at: next.updatedAt,
      })
      .where('id', '=', game.id)
      .where('revision', '=', game.revision)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw new StaleRevisionError(game.id, game.revision);
    return next;
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('checkers_games')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

function toRow(record: GameRecord): GamesTable {
  return {
    id: record.id,
    human_side: record.humanSide,
    difficulty: record.difficulty,
    moves: JSON.stringify(record.moves),
    termination: record.termination ? JSON.stringify(record.termination) : null,
    revision: record.revision,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

function fromRow(row: GamesTable): GameRecord {
  try {
    return {
      id: row.id,
      humanSide: sideSchema.parse(row.human_side),
      difficulty: checkersDifficultySchema.parse(row.difficulty),
      moves: z.array(moveRecordSchema).parse(JSON.parse(row.moves)),
      termination:
        row.termination === null ? null : terminationSchema.parse(JSON.parse(row.termination)),
      revision: Number(row.revision),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  } catch (error) {
    throw new Error(`stored game ${row.id} is corrupt: ${String(error)}`, { cause: error });
  }
}
