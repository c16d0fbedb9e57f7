/**
 * Command-line front end for outside checks, tests and benchmarks.
 *   perft --depth D [--no-bulk]   one FEN per stdin line → FEN, then counts for depths 1..D (tab-separated)
 *   divide --depth D               one FEN per stdin line → FEN<TAB>move<TAB>perft(D-1) after it, per legal move
 *   moves                          one FEN per stdin line → FEN<TAB>moves joined by ';' ('11-15', '14x21[18]')
 *   search [--depth D] [--nodes N] [--time MS]   one FEN per line → FEN, best move, score, depth, nodes, pv
 * Bad input lines are reported on stderr with their line number; the exit code is then 1.
 */
import { readFileSync } from 'node:fs';
import { runCommand } from './commands';

const outcome = runCommand(process.argv.slice(2), readFileSync(0, 'utf8'));
process.stdout.write(outcome.stdout);
process.stderr.write(outcome.stderr);
process.exitCode = outcome.code;
