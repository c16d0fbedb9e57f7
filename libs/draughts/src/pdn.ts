/**
 * PDN (Portable Draughts Notation) games for Spanish draughts (GameType 24): tags, a start
 * position in the FEN tag, move text with numbers, comments, variations (skipped) and a result.
 */
import { parseFen, toFen } from './fen';
import { newGame, playMove, type Game } from './game';
import { formatMove, formatMovePath, legalMoves, type Move } from './move';
import { initialPosition, samePosition, type Position } from './position';
import { err, ok, type Result } from './result';

export const SPANISH_GAME_TYPE = '24';

export type PdnResult = '1-0' | '0-1' | '1/2-1/2' | '*';

export interface PdnGame {
  /** Tags in file order. */
  readonly tags: Readonly<Record<string, string>>;
  readonly game: Game;
  /** The result written in the file (the game's own status may say more, e.g. no moves left). */
  readonly result: PdnResult;
}

export interface PdnError {
  readonly message: string;
  /** 1-based line and column in the PDN text. */
  readonly line: number;
  readonly column: number;
}

type Token =
  | {
      readonly kind: 'tag';
      readonly name: string;
      readonly value: string;
      readonly at: number;
      readonly valueAt: number;
    }
  | { readonly kind: 'move'; readonly text: string; readonly at: number }
  | { readonly kind: 'result'; readonly result: PdnResult; readonly at: number };

const RESULTS: Readonly<Record<string, PdnResult>> = {
  '1-0': '1-0',
  '2-0': '1-0',
  '0-1': '0-1',
  '0-2': '0-1',
  '1/2-1/2': '1/2-1/2',
  '1-1': '1/2-1/2',
  '*': '*',
};

function locate(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < index && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: index - lineStart + 1 };
}

function tokenize(text: string): Result<Token[], PdnError> {
  const tokens: Token[] = [];
  const fail = (message: string, at: number) => err({ message, ...locate(text, at) });
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '[') {
      const m = /^\[\s*([A-Za-z0-9_]+)\s*"((?:[^"\\]|\\.)*)"\s*\]/.exec(text.slice(i));
      if (m === null) return fail('malformed tag: expected [Name "value"]', i);
      tokens.push({
        kind: 'tag',
        name: m[1] as string,
        value: (m[2] as string).replace(/\\(.)/g, '$1'),
        at: i,
        valueAt: i + (m[0] as string).indexOf('"') + 1,
      });
      i += (m[0] as string).length;
    } else if (ch === '{') {
      const end = text.indexOf('}', i);
      if (end < 0) return fail('comment opened with { is never closed', i);
      i = end + 1;
    } else if (ch === ';') {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end + 1;
    } else if (ch === '(') {
      // Variations are skipped: a game here is its main line.
      let depth = 0;
      const start = i;
      for (; i < text.length; i++) {
        if (text[i] === '(') depth++;
        else if (text[i] === ')' && --depth === 0) break;
        else if (text[i] === '{') {
          const end = text.indexOf('}', i);
          if (end < 0) return fail('comment opened with { is never closed', i);
          i = end;
        }
      }
      if (depth !== 0) return fail('variation opened with ( is never closed', start);
      i++;
    } else if (ch === ']' || ch === ')' || ch === '}') {
      return fail(`unexpected '${ch}' with no matching opening bracket`, i);
    } else {
      const m = /^[^\s[\]{}();]+/.exec(text.slice(i)) as RegExpExecArray;
      const word = m[0];
      const at = i;
      i += word.length;
      const result = RESULTS[word];
      if (result !== undefined) {
        tokens.push({ kind: 'result', result, at });
        continue;
      }
      if (/^\$\d+$/.test(word)) continue; // numeric annotation glyph
      // Strip a leading move number ("12." or "12...") and trailing annotations ("!", "?!").
      const body = word.replace(/^\d+\.(\.\.)?/, '').replace(/[!?]+$/, '');
      if (body === '') continue;
      if (!/^\d{1,2}([-x:]\d{1,2})+(\[[\d,]*\])?$/i.test(body))
        return fail(`'${word}' is not a move, move number, result or annotation`, at);
      tokens.push({ kind: 'move', text: body, at: at + word.indexOf(body) });
    }
  }
  return ok(tokens);
}

/** Parses every game in a PDN text. */
export function parsePdn(text: string): Result<PdnGame[], PdnError> {
  const tokenized = tokenize(text);
  if (!tokenized.ok) return tokenized;
  const tokens = tokenized.value;
  const games: PdnGame[] = [];
  let k = 0;
  while (k < tokens.length) {
    const tags: Record<string, string> = {};
    let fenToken: Extract<Token, { kind: 'tag' }> | undefined;
    while (k < tokens.length && tokens[k]?.kind === 'tag') {
      const t = tokens[k] as Extract<Token, { kind: 'tag' }>;
      tags[t.name] = t.value;
      if (t.name === 'FEN') fenToken = t;
      if (t.name === 'GameType' && (t.value.split(',')[0] ?? '').trim() !== SPANISH_GAME_TYPE) {
        return err({
          message: `GameType ${t.value} is not Spanish draughts (${SPANISH_GAME_TYPE})`,
          ...locate(text, t.valueAt),
        });
      }
      k++;
    }
    let start: Position = initialPosition();
    if (fenToken !== undefined) {
      const parsed = parseFen(fenToken.value);
      if (!parsed.ok)
        return err({
          message: `FEN tag: ${parsed.error.message}`,
          ...locate(text, fenToken.valueAt + parsed.error.column - 1),
        });
      start = parsed.value;
    }
    let game = newGame(start);
    let result: PdnResult = '*';
    let sawMoveOrResult = false;
    while (k < tokens.length) {
      const t = tokens[k] as Token;
      if (t.kind === 'tag') break;
      k++;
      sawMoveOrResult = true;
      if (t.kind === 'result') {
        result = t.result;
        break;
      }
      const played = playMove(game, t.text);
      if (!played.ok)
        return err({
          message: `move ${game.moves.length + 1} (${t.text}): ${played.error.message}`,
          ...locate(text, t.at),
        });
      game = played.value;
    }
    if (!sawMoveOrResult && Object.keys(tags).length === 0) break;
    games.push({ tags, game, result });
  }
  return ok(games);
}

function resultOf(game: Game): PdnResult {
  const s = game.status;
  if (s.kind === 'win') return s.winner === 'white' ? '1-0' : '0-1';
  if (s.kind === 'draw') return '1/2-1/2';
  return '*';
}

/** Short notation, or the full path when the short form would be ambiguous. */
function moveText(before: Position, move: Move): string {
  if (move.kind === 'quiet') return formatMove(move);
  const sameEnds = legalMoves(before).filter((m) => m.from === move.from && m.to === move.to);
  return sameEnds.length > 1 ? formatMovePath(move) : formatMove(move);
}

/**
 * Writes a game as PDN. GameType 24 and Result are always written; FEN only when the game does
 * not start from the initial position. Extra tags come first, in the given order.
 */
export function toPdn(game: Game, tags: Readonly<Record<string, string>> = {}): string {
  const start = game.positions[0] as Position;
  const result =
    tags['Result'] !== undefined && resultOf(game) === '*'
      ? (RESULTS[tags['Result']] ?? '*')
      : resultOf(game);
  const all: Record<string, string> = { ...tags, GameType: SPANISH_GAME_TYPE, Result: result };
  if (!samePosition(start, initialPosition())) all['FEN'] = toFen(start);
  const lines = Object.entries(all).map(
    ([name, value]) => `[${name} "${value.replace(/[\\"]/g, '\\$&')}"]`,
  );
  const words: string[] = [];
  let number = 1;
  game.moves.forEach((move, i) => {
    const before = game.positions[i] as Position;
    // A move number stays on the same line as its move.
    const prefix = before.turn === 'white' ? `${number}. ` : i === 0 ? `${number}... ` : '';
    words.push(prefix + moveText(before, move));
    if (before.turn === 'black') number++;
  });
  words.push(result);
  const movetext: string[] = [];
  let line = '';
  for (const w of words) {
    if (line.length > 0 && line.length + 1 + w.length > 79) {
      movetext.push(line);
      line = w;
    } else line = line.length > 0 ? `${line} ${w}` : w;
  }
  movetext.push(line);
  return `${lines.join('\n')}\n\n${movetext.join('\n')}\n`;
}
