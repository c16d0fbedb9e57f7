import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runCommand } from '../cli/commands';

const root = join(__dirname, '..', '..', '..');
const tsxCli = require.resolve('tsx/cli', { paths: [root] });

function cli(
  args: string[],
  input: string,
): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(
    process.execPath,
    [tsxCli, join(root, 'libs/draughts/cli/main.ts'), ...args],
    { input, encoding: 'utf8', cwd: root, timeout: 60_000 },
  );
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe('draughts CLI (spawned)', () => {
  it('perft prints the FEN and counts for each depth', () => {
    const r = cli(['perft', '--depth', '5'], 'W:W1-12:B21-32\n\nW:WK1:B14,22\n');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('W:W1-12:B21-32\t7\t49\t302\t1469\t7361\nW:WK1:B14,22\t2\t0\t0\t0\t0\n');
  });
  it('moves lists legal moves with captured squares', () => {
    const input = [
      'W:W14:BK18,19,32',
      'W:W10:BK13,14,23,29',
      'W:WK1,11:B15,19,29',
      'W:W6:B10,11,18,K20,32',
      'W:WK1:B14,22',
      'W:W1-12:B21-32',
    ].join('\n');
    const r = cli(['moves'], input);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'W:W14:BK18,19,32\t14x21[18]',
      'W:W10:BK13,14,23,29\t10x28[14,23]',
      'W:WK1,11:B15,19,29\t1x23[19];1x28[19];1x32[19];11x20[15]',
      'W:W6:B10,11,18,K20,32\t6x24[11,20]',
      'W:WK1:B14,22\t1x26[14,22];1x29[14,22]',
      'W:W1-12:B21-32\t9-13;10-14;10-13;11-15;11-14;12-16;12-15',
      '',
    ]);
  });
  it('reports bad lines on stderr with their line number and exits 1', () => {
    const r = cli(['moves'], 'W:W14:BK18,19,32\nW:W1,99:B2\n');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('W:W14:BK18,19,32\t14x21[18]\n');
    expect(r.stderr).toBe(
      'line 2, column 6: square 99 is off the board (squares are 1-32): W:W1,99:B2\n',
    );
  });
});

describe('draughts CLI (in process)', () => {
  it('rejects bad arguments with usage', () => {
    expect(runCommand(['perft'], '').code).toBe(2);
    expect(runCommand(['perft'], '').stderr).toMatch(/perft needs --depth D/);
    expect(runCommand(['perft', '--depth', 'x'], '').stderr).toMatch(
      /--depth must be a positive integer, got 'x'/,
    );
    expect(runCommand(['fly'], '').stderr).toMatch(/unknown command 'fly'/);
    expect(runCommand(['moves', '--bogus'], '').stderr).toMatch(/unknown argument '--bogus'/);
  });
  it('perft without bulk counting gives the same numbers', () => {
    expect(runCommand(['perft', '--depth=4', '--no-bulk'], 'W:W1-12:B21-32').stdout).toBe(
      'W:W1-12:B21-32\t7\t49\t302\t1469\n',
    );
  });
  it('divide splits perft by first move', () => {
    const out = runCommand(['divide', '--depth', '3'], 'W:W1-12:B21-32\nB:W5:B')
      .stdout.trim()
      .split('\n');
    expect(out).toHaveLength(7);
    expect(out[0]).toBe('W:W1-12:B21-32\t9-13\t47');
    expect(out.reduce((n, l) => n + Number(l.split('\t')[2]), 0)).toBe(302);
  });
  it('search prints a legal best move', () => {
    const out = runCommand(['search', '--depth', '3'], 'W:W14:BK18,19,32').stdout.split('\t');
    expect(out[1]).toBe('14x21[18]');
    expect(out[3]).toBe('3');
  });
});
