/** The CLI's logic as a pure function of arguments and stdin text, so it is testable in-process too. */
import {
  formatMove,
  formatMoveLong,
  legalMoves,
  makeMove,
  parseFen,
  perft,
  search,
  type Position,
} from '../src/index';

export interface Outcome {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

const USAGE = `usage: draughts <command> [options] < fens.txt
  perft --depth D [--no-bulk]   counts of unique move sequences for depths 1..D
  divide --depth D              perft split by first move: one line per move, FEN<TAB>move<TAB>count
  moves                         legal moves ('11-15', '14x21[18]')
  search [--depth D] [--nodes N] [--time MS]   best move, score, depth, nodes, principal variation
`;

interface Flags {
  readonly values: Map<string, string>;
  readonly switches: Set<string>;
}

function parseFlags(args: readonly string[]): Flags | string {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--no-bulk') switches.add(a);
    else if (a === '--depth' || a === '--nodes' || a === '--time') {
      const v = args[i + 1];
      if (v === undefined) return `${a} needs a value`;
      values.set(a, v);
      i++;
    } else if (a.startsWith('--') && a.includes('=')) {
      const [k, v] = a.split('=', 2) as [string, string];
      if (k !== '--depth' && k !== '--nodes' && k !== '--time') return `unknown option ${k}`;
      values.set(k, v);
    } else return `unknown argument '${a}'`;
  }
  return { values, switches };
}

function positiveInt(flags: Flags, name: string): number | undefined | string {
  const v = flags.values.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) return `${name} must be a positive integer, got '${v}'`;
  return n;
}

export function runCommand(argv: readonly string[], input: string): Outcome {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h')
    return {
      stdout: command === undefined ? '' : USAGE,
      stderr: command === undefined ? USAGE : '',
      code: command === undefined ? 2 : 0,
    };
  const flags = parseFlags(rest);
  if (typeof flags === 'string') return { stdout: '', stderr: `${flags}\n${USAGE}`, code: 2 };
  const depth = positiveInt(flags, '--depth');
  const nodes = positiveInt(flags, '--nodes');
  const time = positiveInt(flags, '--time');
  for (const v of [depth, nodes, time])
    if (typeof v === 'string') return { stdout: '', stderr: `${v}\n`, code: 2 };

  /** What follows the FEN on each output line for one input position. */
  let lines: (pos: Position) => string[];
  switch (command) {
    case 'perft': {
      if (typeof depth !== 'number')
        return { stdout: '', stderr: `perft needs --depth D\n${USAGE}`, code: 2 };
      const bulk = !flags.switches.has('--no-bulk');
      lines = (pos) => [
        Array.from({ length: depth }, (_, d) => perft(pos, d + 1, { bulk })).join('\t'),
      ];
      break;
    }
    case 'divide': {
      if (typeof depth !== 'number')
        return { stdout: '', stderr: `divide needs --depth D\n${USAGE}`, code: 2 };
      // One line per move (none for a position without moves), each starting with the FEN.
      lines = (pos) =>
        legalMoves(pos).map((m) => `${formatMoveLong(m)}\t${perft(makeMove(pos, m), depth - 1)}`);
      break;
    }
    case 'moves':
      lines = (pos) => [legalMoves(pos).map(formatMoveLong).join(';')];
      break;
    case 'search':
      lines = (pos) => {
        const r = search(pos, {
          depth: depth as number | undefined,
          nodes: nodes as number | undefined,
          timeMs: time as number | undefined,
        });
        return [
          [
            r.move === null ? '(none)' : formatMoveLong(r.move),
            r.score,
            r.depth,
            r.nodes,
            r.pv.map(formatMove).join(' '),
          ].join('\t'),
        ];
      };
      break;
    default:
      return { stdout: '', stderr: `unknown command '${command}'\n${USAGE}`, code: 2 };
  }

  const out: string[] = [];
  const errors: string[] = [];
  input.split(/\r?\n/).forEach((raw, i) => {
    const fen = raw.trim();
    if (fen === '' || fen.startsWith('#')) return;
    const parsed = parseFen(fen);
    if (!parsed.ok) {
      errors.push(`line ${i + 1}, column ${parsed.error.column}: ${parsed.error.message}: ${fen}`);
      return;
    }
    for (const rest of lines(parsed.value)) out.push(`${fen}\t${rest}`);
  });
  return {
    stdout: out.map((l) => `${l}\n`).join(''),
    stderr: errors.map((e) => `${e}\n`).join(''),
    code: errors.length > 0 ? 1 : 0,
  };
}
