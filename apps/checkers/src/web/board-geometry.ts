import { coordsToSquare, squareCoords } from '@conveyor/draughts';

/** Board drawing units: the SVG viewBox is 8 × CELL square. */
export const CELL = 100;

export interface Point {
  readonly x: number;
  readonly y: number;
}

/**
 * Centre of a square in SVG units. Unflipped, White sits at the bottom: square 1 is the
 * bottom-right corner (the Spanish orientation); flipped shows Black's view.
 */
export function squareCentre(square: number, flipped: boolean): Point {
  const { row, col } = squareCoords(square);
  const x = flipped ? 7 - col : col;
  const y = flipped ? row : 7 - row;
  return { x: x * CELL + CELL / 2, y: y * CELL + CELL / 2 };
}

/** Top-left corner of the cell at a visual (x, y) cell position, with its board row/col. */
export function cellAt(visualCol: number, visualRow: number, flipped: boolean) {
  const col = flipped ? 7 - visualCol : visualCol;
  const row = flipped ? visualRow : 7 - visualRow;
  return { row, col, square: coordsToSquare(row, col) };
}

/** The playing square under an SVG point, or undefined for a light square or off the board. */
export function squareAtPoint(point: Point, flipped: boolean): number | undefined {
  const visualCol = Math.floor(point.x / CELL);
  const visualRow = Math.floor(point.y / CELL);
  if (visualCol < 0 || visualCol > 7 || visualRow < 0 || visualRow > 7) return undefined;
  return cellAt(visualCol, visualRow, flipped).square;
}
