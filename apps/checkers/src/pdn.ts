import type { GameRecord } from './game-record';
import type { ReplayedGame } from './rules';

/** PDN GameType 24 is Spanish draughts: it fixes the board, numbering and start position. */
const GAME_TYPE_SPANISH = '24';

/**
 * Writes a game as PDN (Portable Draughts Notation): tag pairs, then numbered movetext with
 * full capture paths, ending with the result (`*` while the game goes on).
 */
export function writePdn(
  record: GameRecord,
  game: ReplayedGame,
  result: string,
  description?: string,
): string {
  const engine = `Conveyor engine (${record.difficulty})`;
  const tags: [string, string][] = [
    ['Event', 'Conveyor checkers'],
    ['Site', 'Conveyor'],
    ['Date', record.createdAt.slice(0, 10).replaceAll('-', '.')],
    ['Round', '-'],
    ['White', record.humanSide === 'white' ? 'Human' : engine],
    ['Black', record.humanSide === 'black' ? 'Human' : engine],
    ['Result', result],
    ['GameType', GAME_TYPE_SPANISH],
  ];
  const tokens: string[] = [];
  for (const play of game.plays) {
    if (play.side === 'white') tokens.push(`${Math.ceil(play.ply / 2)}.`);
    else if (tokens.length === 0) tokens.push(`${Math.ceil(play.ply / 2)}...`);
    tokens.push(play.notation);
  }
  if (description) tokens.push(`{${description.replace(/[{}]/g, '')}}`);
  tokens.push(result);
  return `${tags.map(([k, v]) => `[${k} "${v.replace(/["\\]/g, '')}"]`).join('\n')}\n\n${wrap(tokens, 79)}\n`;
}

/** PDN lines should stay under 80 characters; tokens are never split. */
function wrap(tokens: readonly string[], width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const token of tokens) {
    if (line && line.length + 1 + token.length > width) {
      lines.push(line);
      line = token;
    } else {
      line = line ? `${line} ${token}` : token;
    }
  }
  if (line) lines.push(line);
  return lines.join('\n');
}
