import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CheckersDifficulty } from '@conveyor/contracts';
import { createLogger } from '@conveyor/observability';
import { loadConfig } from '../../../apps/checkers/src/config';
import type { GameView } from '../../../apps/checkers/src/game-view';
import { start } from '../../../apps/checkers/src/main';

export interface HttpRow {
  readonly difficulty: CheckersDifficulty;
  readonly samples: readonly number[];
}

/**
 * `POST /api/games/:id/engine-move` as a browser sees it — database read, replay, engine search in
 * the thread pool, validation, write — on a real server with SQLite in a temp directory. The
 * human side plays its first legal move; games restart until `moves` engine moves were timed.
 */
export async function measureHttpLatency(
  difficulties: readonly CheckersDifficulty[],
  moves: number,
): Promise<HttpRow[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'checkers-bench-'));
  const server = await start(loadConfig({ PORT: '0', DATA_DIR: dataDir }), {
    handleSignals: false,
    logger: createLogger('checkers-bench', { level: 'silent' }),
  });
  const post = async (path: string, body: object = {}): Promise<GameView> => {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as GameView;
  };
  try {
    const rows: HttpRow[] = [];
    for (const difficulty of difficulties) {
      const samples: number[] = [];
      let game = await post('/api/games', { side: 'white', difficulty });
      while (samples.length < moves) {
        if (game.status.state === 'finished')
          game = await post('/api/games', { side: 'white', difficulty });
        else if (game.status.awaiting === 'human') {
          const move = game.legalMoves[0];
          if (!move) throw new Error(`no legal move in an ongoing game ${game.id}`);
          game = await post(`/api/games/${game.id}/moves`, {
            move: move.notation,
            revision: game.revision,
          });
        } else {
          const t0 = performance.now();
          game = await post(`/api/games/${game.id}/engine-move`);
          samples.push(performance.now() - t0);
        }
      }
      rows.push({ difficulty, samples });
    }
    return rows;
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
