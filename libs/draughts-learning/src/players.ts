/**
 * Players for matches, described as plain data so they can be rebuilt inside worker threads:
 *   minimax — piece-count minimax, uniformly random among equally scored best moves;
 *   book    — the same, but the opening book chooses among those equal moves;
 *   neural  — batched minimax over the transformer scorer (optionally with the book on top).
 */
import { createRng, currentPosition, type Game, type Move } from '@conveyor/draughts';
import { readFileSync } from 'node:fs';
import { selectWithBook } from './book-selector';
import { batchedMinimax } from './batched-minimax';
import { loadModel } from './model-io';
import { materialPlusNeural, neuralScorer } from './neural-scorer';
import { parseOpeningBook, type OpeningBook } from './opening-stats';
import { bestMoves, rootMoveScores } from './root-scores';

export type PlayerSpec =
  | { readonly kind: 'minimax'; readonly depth: number }
  | { readonly kind: 'book'; readonly depth: number; readonly bookPath: string }
  | {
      readonly kind: 'neural';
      readonly depth: number;
      readonly modelDir: string;
      readonly batchSize?: number;
      /** Add material (men 1, kings 3) times this weight to the network's value (default 0: network only). */
      readonly materialWeight?: number;
    };

export interface Player {
  readonly name: string;
  chooseMove(game: Game): Promise<Move>;
}

export function describePlayer(spec: PlayerSpec): string {
  switch (spec.kind) {
    case 'minimax':
      return `minimax d${spec.depth}`;
    case 'book':
      return `minimax+book d${spec.depth}`;
    case 'neural':
      return spec.materialWeight ? `material+neural d${spec.depth}` : `neural d${spec.depth}`;
  }
}

const books = new Map<string, OpeningBook>();

function bookAt(path: string): OpeningBook {
  let b = books.get(path);
  if (!b) books.set(path, (b = parseOpeningBook(readFileSync(path, 'utf8'))));
  return b;
}

/** Builds a player; `seed` drives its tie-breaking. Neural players need an initialised tfjs backend. */
export function createPlayer(spec: PlayerSpec, seed: number): Player {
  const next = createRng(seed);
  const random = (): number => next() / 4294967296;
  const name = describePlayer(spec);
  switch (spec.kind) {
    case 'minimax':
      return {
        name,
        chooseMove: async (game) => pick(bestMoves(rootMoveScores(game, spec.depth)), random).move,
      };
    case 'book': {
      const book = bookAt(spec.bookPath);
      return {
        name,
        chooseMove: async (game) =>
          selectWithBook(book, game, bestMoves(rootMoveScores(game, spec.depth)), random).move,
      };
    }
    case 'neural': {
      const net = neuralScorer(loadModel(spec.modelDir));
      const scorer = spec.materialWeight ? materialPlusNeural(net, spec.materialWeight) : net;
      return {
        name,
        chooseMove: async (game) => {
          const r = await batchedMinimax(currentPosition(game), scorer, {
            depth: spec.depth,
            batchSize: spec.batchSize,
            random,
          });
          if (r.move === null) throw new Error('asked to move in a lost position');
          return r.move;
        },
      };
    }
  }
}

function pick<T>(items: readonly T[], random: () => number): T {
  const x = items[Math.floor(random() * items.length)];
  if (x === undefined) throw new Error('no move to choose from');
  return x;
}
