import type { ApiErrorBody, GameView, Side } from '../game-view';

/** An error answer from the API, with the server's message (already written for people). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<GameView> {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const payload: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const error = (payload as ApiErrorBody | undefined)?.error;
    throw new ApiError(
      response.status,
      error?.code ?? 'http-error',
      error?.message ?? `HTTP ${response.status}`,
    );
  }
  return payload as GameView;
}

const game = (id: string) => `api/games/${encodeURIComponent(id)}`;

export const api = {
  newGame: (side: Side, difficulty: string) => call('POST', 'api/games', { side, difficulty }),
  getGame: (id: string) => call('GET', game(id)),
  play: (id: string, move: string, revision: number) =>
    call('POST', `${game(id)}/moves`, { move, revision }),
  engineMove: (id: string) => call('POST', `${game(id)}/engine-move`, {}),
  undo: (id: string) => call('POST', `${game(id)}/undo`, {}),
  resign: (id: string) => call('POST', `${game(id)}/resign`, {}),
  claimDraw: (id: string) => call('POST', `${game(id)}/draw-claim`, {}),
  pdnUrl: (id: string) => `${game(id)}/pdn`,
};
