import { z } from 'zod';
import { defineContract, messageHeader, type Contract } from './contract';

/**
 * Checkers (Spanish draughts) engine messages: the game server asks an engine worker for a move
 * in a position; the worker answers on the reply topic under the routing key the request named.
 * Request and reply are separate contracts so a worker in another language can be written from
 * the generated JSON Schemas alone.
 */

/** PDN FEN of a Spanish draughts position, e.g. `W:W1,2,K12:B21,22` (side to move first, K = king). */
export const checkersFenSchema = z
  .string()
  .max(200)
  .regex(
    /^[WB]:[WB](K?\d{1,2}(,K?\d{1,2})*)?:[WB](K?\d{1,2}(,K?\d{1,2})*)?\.?$/,
    'must be a PDN FEN such as "W:W1,2,3:B30,31,K32" (side to move, then each side\'s squares 1-32, K for kings)',
  );

export const checkersDifficultySchema = z.enum(['easy', 'medium', 'hard']);
export type CheckersDifficulty = z.infer<typeof checkersDifficultySchema>;

/** How hard the engine may think: it stops at whichever limit comes first. */
export const engineSearchSchema = z.object({
  /** Iterative deepening stops after this many plies. */
  maxDepth: z.number().int().min(1).max(64),
  /** Wall-clock budget in milliseconds, measured by the worker from when it starts searching. */
  timeMs: z.number().int().min(1).max(60_000),
  /** Node budget; bounds the search on a slow or overloaded machine regardless of the clock. */
  maxNodes: z.number().int().min(1).max(1_000_000_000),
  /**
   * Which static evaluation the search uses at its leaves. `piece-count+neural-tiebreak`:
   * piece-count alpha-beta, then the neural scorer chooses among the root moves tied for the best.
   */
  scorer: z.enum(['piece-count', 'neural', 'piece-count+neural-tiebreak']),
  /**
   * Play any root move scoring within this margin of the best (seeded random choice); 0 = always
   * the best. How the easy level makes human-like slips without a weaker search.
   */
  randomMargin: z.number().min(0).max(1000).default(0),
});
export type EngineSearch = z.infer<typeof engineSearchSchema>;

const routingKey = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,200}$/, "must be 1-200 letters, digits, '.', '_', ':' or '-'");

export const engineMoveRequestSchema = z.object({
  ...messageHeader('checkers.engine-move.request', 1),
  /** Echoed in the response so the server can match it to the waiting HTTP request. */
  requestId: z.uuid(),
  /** The position to move in; the side to move is the engine's. */
  fen: checkersFenSchema,
  /** Earlier positions of the game (FEN), oldest first, so the engine can avoid or seek repetitions. */
  history: z.array(checkersFenSchema).max(2000).default([]),
  difficulty: checkersDifficultySchema,
  search: engineSearchSchema,
  /** Seed for the random choice among near-best moves: the same request gets the same answer. */
  seed: z.number().int().min(0).max(4_294_967_295).default(1),
  /** Routing key on the reply topic the requesting server listens on. */
  replyTo: routingKey,
  /** Epoch milliseconds after which nobody waits for the answer: a worker skips the search. */
  deadline: z.number().int().positive(),
});
export type EngineMoveRequest = z.infer<typeof engineMoveRequestSchema>;

export const engineMoveOutcomeSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('move'),
    /** PDN move text: `11-15` for a step, `15x24x31` for a capture (every landing square). */
    move: z
      .string()
      .regex(/^\d{1,2}([-x]\d{1,2})+$/, 'must be PDN move text such as "11-15" or "15x24x31"'),
    /** Evaluation from the mover's side, in the scorer's units. */
    score: z.number(),
    depth: z.number().int().min(0),
    nodes: z.number().int().min(0),
    elapsedMs: z.number().min(0),
    /**
     * With a `+neural-tiebreak` scorer: how many root moves tied for the best value, and who
     * chose among them — `network`, nobody (`single`: one best move), or the alpha-beta search
     * because the network was `unavailable`, out of time (`timeout`) or failed (`error`).
     */
    tieBreak: z
      .object({
        tied: z.number().int().min(0),
        by: z.enum(['network', 'single', 'unavailable', 'timeout', 'error']),
      })
      .optional(),
  }),
  /** The side to move has no legal move: the game is already over. */
  z.object({ kind: z.literal('no-legal-moves') }),
  /** The worker could not search this request (its reason says why); retrying will not help. */
  z.object({ kind: z.literal('rejected'), reason: z.string().min(1).max(2000) }),
]);
export type EngineMoveOutcome = z.infer<typeof engineMoveOutcomeSchema>;

export const engineMoveResponseSchema = z.object({
  ...messageHeader('checkers.engine-move.response', 1),
  requestId: z.uuid(),
  /** Which worker answered (host/pid), for debugging slow or wrong answers. */
  worker: z.string().min(1).max(200),
  outcome: engineMoveOutcomeSchema,
});
export type EngineMoveResponse = z.infer<typeof engineMoveResponseSchema>;

const exampleSearch: EngineSearch = {
  maxDepth: 6,
  timeMs: 300,
  maxNodes: 200_000,
  scorer: 'piece-count',
  randomMargin: 0,
};
const exampleRequest: z.input<typeof engineMoveRequestSchema> = {
  type: 'checkers.engine-move.request',
  version: 1,
  requestId: '3f0c1c52-4f5e-4d36-9a43-2b8f0c7f5d11',
  fen: 'B:W1,2,3,4,5,6,7,8,9,10,12,15:B21,22,23,24,25,26,27,28,29,30,31,32',
  history: ['W:W1,2,3,4,5,6,7,8,9,10,11,12:B21,22,23,24,25,26,27,28,29,30,31,32'],
  difficulty: 'medium',
  search: exampleSearch,
  replyTo: 'checkers-server.7d2a',
  deadline: 1_795_000_000_000,
};

export const engineMoveRequestContract = defineContract({
  type: 'checkers.engine-move.request',
  version: 1,
  description:
    'Asks an engine worker for its move in a Spanish draughts position within a search budget; ' +
    'the answer is a checkers.engine-move.response published on the reply topic with routing key `replyTo`.',
  schema: engineMoveRequestSchema,
  examples: [
    exampleRequest,
    {
      ...exampleRequest,
      requestId: '9b1f6a40-1d8e-4c3b-8f0e-5a6b7c8d9e0f',
      fen: 'W:WK12:B29,K30',
      history: [],
      difficulty: 'hard',
      search: {
        maxDepth: 20,
        timeMs: 800,
        maxNodes: 3_000_000,
        scorer: 'piece-count+neural-tiebreak',
      },
      seed: 12345,
    },
  ],
  invalidExamples: [
    { value: { ...exampleRequest, fen: 'rnbqkbnr/pppppppp' }, field: 'fen' },
    { value: { ...exampleRequest, difficulty: 'impossible' }, field: 'difficulty' },
    { value: { ...exampleRequest, search: { ...exampleSearch, timeMs: 0 } }, field: 'search' },
    { value: { ...exampleRequest, requestId: 'not-a-uuid' }, field: 'requestId' },
    { value: { ...exampleRequest, replyTo: 'has spaces' }, field: 'replyTo' },
    { value: { ...exampleRequest, version: 2 }, field: 'version' },
  ],
});

const exampleResponse: z.input<typeof engineMoveResponseSchema> = {
  type: 'checkers.engine-move.response',
  version: 1,
  requestId: '3f0c1c52-4f5e-4d36-9a43-2b8f0c7f5d11',
  worker: 'engine-worker-5d9f/4242',
  outcome: { kind: 'move', move: '22-18', score: 0, depth: 6, nodes: 18_231, elapsedMs: 41.5 },
};

export const engineMoveResponseContract = defineContract({
  type: 'checkers.engine-move.response',
  version: 1,
  description:
    "An engine worker's answer to a checkers.engine-move.request: the chosen move with search statistics, " +
    'or why there is none.',
  schema: engineMoveResponseSchema,
  examples: [
    exampleResponse,
    {
      ...exampleResponse,
      outcome: { kind: 'move', move: '15x24x31', score: 2, depth: 4, nodes: 900, elapsedMs: 3 },
    },
    {
      ...exampleResponse,
      outcome: {
        kind: 'move',
        move: '9-14',
        score: 0,
        depth: 13,
        nodes: 1_480_211,
        elapsedMs: 742,
        tieBreak: { tied: 4, by: 'network' },
      },
    },
    { ...exampleResponse, outcome: { kind: 'no-legal-moves' } },
    {
      ...exampleResponse,
      outcome: { kind: 'rejected', reason: 'fen: square 33 is off the board' },
    },
  ],
  invalidExamples: [
    {
      value: {
        ...exampleResponse,
        outcome: { kind: 'move', move: 'e2e4', score: 0, depth: 1, nodes: 1, elapsedMs: 1 },
      },
      field: 'outcome',
    },
    { value: { ...exampleResponse, outcome: { kind: 'gave-up' } }, field: 'outcome' },
    { value: { ...exampleResponse, requestId: 42 }, field: 'requestId' },
    { value: { ...exampleResponse, worker: '' }, field: 'worker' },
  ],
});

/** Contracts of the checkers messages (owned by the checkers work; registered in registry.ts). */
export const checkersContracts: readonly Contract[] = [
  engineMoveRequestContract,
  engineMoveResponseContract,
];
