import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../../..');
const cli = (...args: string[]): string =>
  execFileSync(process.execPath, ['--import', 'tsx', 'apps/selfplay/src/cli.ts', ...args], {
    cwd: root,
    env: { ...process.env, TSX_TSCONFIG_PATH: 'tsconfig.base.json' },
    encoding: 'utf8',
  });

describe('selfplay CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'selfplay-cli-'));
  const log = join(dir, 'games.jsonl');

  it('generates games, resumes, exports PDN and builds opening statistics', () => {
    expect(
      cli(
        'generate',
        '--games',
        '4',
        '--depth',
        '1',
        '--threads',
        '2',
        '--out',
        log,
        '--no-progress',
      ),
    ).toMatch(/played 4 games \(0 already/);
    expect(
      cli(
        'generate',
        '--games',
        '6',
        '--depth',
        '1',
        '--threads',
        '1',
        '--out',
        log,
        '--no-progress',
      ),
    ).toMatch(/played 2 games \(4 already/);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(6);
    expect(cli('pdn', '--in', log, '--out', join(dir, 'games.pdn'))).toMatch(/wrote 6 games/);
    expect(readFileSync(join(dir, 'games.pdn'), 'utf8')).toMatch(/\[GameType "24"\]/);
    expect(cli('stats', '--in', log, '--out', join(dir, 'book.json'), '--min-games', '3')).toMatch(
      /6 games → \d+ positions/,
    );
  });

  it('explains a bad option', () => {
    expect(() => cli('generate', '--games', 'many', '--out', log)).toThrow(
      /--games must be a non-negative integer/,
    );
  });
});
