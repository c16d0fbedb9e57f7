/**
 * FEN as used by PDN for draughts: `W:W1,2,K3:B21,22` — side to move, then each colour's
 * squares (either order), `K` marking kings, ranges like `1-12` allowed.
 */
import { err, ok, type Result } from './result';
import { makePosition, type Color, type Position } from './position';
import { BLACK_PROMOTION, WHITE_PROMOTION } from './squares';

export interface FenError {
  readonly message: string;
  /** 1-based column in the FEN text where the problem is. */
  readonly column: number;
}

const fail = (message: string, index: number): { ok: false; error: FenError } =>
  err({ message, column: index + 1 });

export function parseFen(text: string): Result<Position, FenError> {
  const trimmedStart = text.length - text.trimStart().length;
  const body = text.trim().replace(/\.$/, '');
  // Some PDN writers end the FEN with '.'; anything else after the three sections is an error.
  const sections = body.split(':');
  let offset = trimmedStart;
  const turnText = (sections[0] ?? '').trim().toUpperCase();
  if (turnText !== 'W' && turnText !== 'B') {
    return fail(`expected side to move 'W' or 'B', found '${sections[0] ?? ''}'`, offset);
  }
  const turn: Color = turnText === 'W' ? 'white' : 'black';
  if (sections.length !== 3) {
    return fail(
      `expected 3 ':'-separated sections (turn, white, black), found ${sections.length}`,
      offset,
    );
  }
  const sets = { white: 0, black: 0, kings: 0 };
  const seen = { W: false, B: false };
  offset += (sections[0] as string).length + 1;
  for (let s = 1; s < 3; s++) {
    const section = sections[s] as string;
    const start = offset;
    offset += section.length + 1;
    const lead = section.length - section.trimStart().length;
    const colourChar = section.trim().charAt(0).toUpperCase();
    if (colourChar !== 'W' && colourChar !== 'B') {
      return fail(
        `expected a colour 'W' or 'B' to start the section, found '${section.trim().charAt(0)}'`,
        start + lead,
      );
    }
    if (seen[colourChar]) return fail(`colour '${colourChar}' is listed twice`, start + lead);
    seen[colourChar] = true;
    const colour: Color = colourChar === 'W' ? 'white' : 'black';
    const list = section.slice(lead + 1);
    let itemStart = start + lead + 1;
    for (const rawItem of list.split(',')) {
      const here = itemStart;
      itemStart += rawItem.length + 1;
      const item = rawItem.trim();
      if (item === '' && list.trim() === '') break; // a colour with no pieces
      const at = here + (rawItem.length - rawItem.trimStart().length);
      const m = /^(K?)(\d+)(?:-(\d+))?$/i.exec(item);
      if (m === null)
        return fail(`expected a square like '5', 'K5' or a range '1-12', found '${item}'`, at);
      const king = m[1] !== '';
      const first = Number(m[2]);
      const last = m[3] === undefined ? first : Number(m[3]);
      for (const n of [first, last]) {
        if (n < 1 || n > 32) return fail(`square ${n} is off the board (squares are 1-32)`, at);
      }
      if (last < first) return fail(`range ${first}-${last} runs backwards`, at);
      for (let sq = first; sq <= last; sq++) {
        const bit = 1 << (sq - 1);
        if (((sets.white | sets.black) & bit) !== 0)
          return fail(`square ${sq} is occupied twice`, at);
        sets[colour] |= bit;
        if (king) sets.kings |= bit;
        else if (colour === 'white' && (WHITE_PROMOTION & bit) !== 0) {
          return fail(`white man on square ${sq}, Black's back row, would already be a king`, at);
        } else if (colour === 'black' && (BLACK_PROMOTION & bit) !== 0) {
          return fail(`black man on square ${sq}, White's back row, would already be a king`, at);
        }
      }
    }
  }
  return ok(makePosition(sets.white, sets.black, sets.kings, turn));
}

function listSquares(set: number, kings: number): string {
  const parts: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    if ((set & (1 << bit)) !== 0) parts.push(`${(kings & (1 << bit)) !== 0 ? 'K' : ''}${bit + 1}`);
  }
  return parts.join(',');
}

/** FEN with squares ascending, one per entry (no ranges), kings prefixed with K. */
export function toFen(pos: Position): string {
  return `${pos.turn === 'white' ? 'W' : 'B'}:W${listSquares(pos.white, pos.kings)}:B${listSquares(pos.black, pos.kings)}`;
}
