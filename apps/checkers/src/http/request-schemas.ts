import { z } from 'zod';
import { checkersDifficultySchema } from '@conveyor/contracts';

/** Request bodies and parameters of the HTTP API, validated before anything else runs. */
export const newGameBody = z.strictObject({
  side: z.enum(['white', 'black']).default('white'),
  difficulty: checkersDifficultySchema.default('medium'),
});

export const playMoveBody = z.strictObject({
  /** PDN move text: '11-15', '15x24', '1x10x19' (full path) or '15x24[19]'. */
  move: z.string().min(3).max(100),
  /** The revision the client saw; a mismatch means someone else moved first (409). */
  revision: z.number().int().min(1).optional(),
});

/** Bodies of the action endpoints (undo, resign, draw claim, engine move) carry nothing. */
export const emptyBody = z.strictObject({});

export const gameIdParam = z.uuid({
  message: 'must be a game id (a UUID) as returned by POST /api/games',
});
