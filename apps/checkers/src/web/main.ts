import type { GameView, PlayedMoveView, Side } from '../game-view';
import { ApiError, api } from './api-client';
import { BoardView } from './board-view';

/**
 * The page controller: keeps the current game, drives the board and the side panel, and asks the
 * server for the engine's reply after each human move. The server is authoritative; the page
 * only offers the legal moves the server listed.
 */

/** What the page is doing, mirrored on <body data-state> for styling and browser tests. */
type PageState =
  'no-game' | 'human-turn' | 'thinking' | 'animating' | 'engine-turn' | 'finished' | 'busy';

const $ = <T extends HTMLElement>(id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el as T;
};

const els = {
  board: document.getElementById('board') as unknown as SVGSVGElement,
  form: $<HTMLFormElement>('new-game'),
  side: $<HTMLSelectElement>('side'),
  difficulty: $<HTMLSelectElement>('difficulty'),
  status: $('status'),
  thinking: $('thinking'),
  error: $('error'),
  undo: $<HTMLButtonElement>('undo'),
  flip: $<HTMLButtonElement>('flip'),
  claimDraw: $<HTMLButtonElement>('claim-draw'),
  resign: $<HTMLButtonElement>('resign'),
  pdn: $<HTMLAnchorElement>('download-pdn'),
  moveList: $<HTMLOListElement>('move-list'),
  engineInfo: $('engine-info'),
  info: $('game-info'),
};

let game: GameView | undefined;
let pageState: PageState = 'no-game';
const board = new BoardView(els.board, (notation) => void playHuman(notation));

function setState(state: PageState): void {
  pageState = state;
  document.body.dataset['state'] = state;
  els.thinking.hidden = state !== 'thinking';
  const idle = state === 'human-turn' || state === 'finished' || state === 'engine-turn';
  const ongoing = game?.status.state === 'ongoing';
  els.undo.disabled = !idle || !game || !game.moves.some((m) => m.by === 'human');
  els.resign.disabled = !idle || !ongoing;
  els.claimDraw.disabled = !idle || !ongoing || !game?.drawClaim.available;
  els.pdn.setAttribute('aria-disabled', String(!game));
}

const cap = (side: Side) => side[0]?.toUpperCase() + side.slice(1);

function showGame(view: GameView): void {
  game = view;
  const humanTurn = view.status.state === 'ongoing' && view.status.awaiting === 'human';
  board.render({
    board: view.board,
    legalMoves: humanTurn ? view.legalMoves : [],
    lastMove: view.moves[view.moves.length - 1],
  });
  if (view.status.state === 'finished') {
    els.status.textContent = `${view.status.result} — ${view.status.description}`;
  } else {
    const whose = view.status.awaiting === 'human' ? 'your move' : "engine's move";
    const mustCapture = humanTurn && view.legalMoves.some((m) => m.captured.length > 0);
    els.status.textContent = `${cap(view.status.turn)} to move (${whose})${mustCapture ? ' — capture is compulsory' : ''}`;
  }
  els.info.textContent = `You play ${view.humanSide} at ${view.difficulty} difficulty.`;
  showEngineInfo(view.moves);
  els.pdn.href = api.pdnUrl(view.id);
  els.pdn.download = `checkers-${view.id}.pdn`;
  renderMoveList(view.moves);
  if (location.hash !== `#${view.id}`) history.replaceState(null, '', `#${view.id}`);
  localStorage.setItem('checkers.game', view.id);
  setState(
    view.status.state === 'finished' ? 'finished' : humanTurn ? 'human-turn' : 'engine-turn',
  );
}

function renderMoveList(moves: readonly PlayedMoveView[]): void {
  // PDN numbering: one number per White move + Black reply; a game may start with Black to move.
  const items: HTMLLIElement[] = [];
  let current: HTMLLIElement | undefined;
  for (const move of moves) {
    if (!current || move.side === 'white') {
      current = document.createElement('li');
      if (move.side === 'black') current.appendChild(cell('…'));
      items.push(current);
    }
    const span = cell(move.notation);
    if (move.stats) {
      // The engine's thinking time beside each of its moves; depth and nodes on hover.
      const time = document.createElement('small');
      time.className = 'engine-time';
      time.textContent = formatMs(move.stats.elapsedMs);
      span.append(' ', time);
      span.title = `engine: depth ${move.stats.depth}, ${move.stats.nodes.toLocaleString('en')} nodes, ${formatMs(move.stats.elapsedMs)}`;
    } else {
      span.title = 'your move';
    }
    current.appendChild(span);
  }
  els.moveList.replaceChildren(...items);
  els.moveList.scrollTop = els.moveList.scrollHeight;
}

const formatMs = (ms: number) => `${Math.round(ms)} ms`;

/** The engine's last move and how long it thought, always in view beside the board. */
function showEngineInfo(moves: readonly PlayedMoveView[]): void {
  const last = [...moves].reverse().find((m) => m.stats);
  els.engineInfo.hidden = !last?.stats;
  if (!last?.stats) return;
  const { depth, nodes, elapsedMs } = last.stats;
  els.engineInfo.textContent = `Engine's last move ${last.notation}: ${formatMs(elapsedMs)} (depth ${depth}, ${nodes.toLocaleString('en')} nodes)`;
}

function cell(text: string): HTMLSpanElement {
  const span = document.createElement('span');
  span.textContent = text;
  return span;
}

function showError(error: unknown): void {
  els.error.hidden = false;
  els.error.textContent =
    error instanceof ApiError ? error.message : `Something went wrong: ${String(error)}`;
}

function clearError(): void {
  els.error.hidden = true;
  els.error.textContent = '';
}

/** Shows the move sliding from the previous board, then the new position. */
async function showWithAnimation(before: GameView, after: GameView): Promise<void> {
  const last = after.moves[after.moves.length - 1];
  if (last && after.moves.length === before.moves.length + 1) {
    setState('animating');
    await board.animate(before.board, last);
  }
  showGame(after);
}

async function playHuman(notation: string): Promise<void> {
  if (!game || pageState !== 'human-turn') return;
  clearError();
  const before = game;
  setState('busy');
  try {
    const after = await api.play(before.id, notation, before.revision);
    await showWithAnimation(before, after);
  } catch (error) {
    showError(error);
    await recover(before);
    return;
  }
  await engineReplyIfDue();
}

async function engineReplyIfDue(): Promise<void> {
  const current = game;
  if (!current || current.status.state !== 'ongoing' || current.status.awaiting !== 'engine')
    return;
  setState('thinking');
  try {
    const after = await api.engineMove(current.id);
    await showWithAnimation(current, after);
  } catch (error) {
    showError(error);
    await recover(current);
  }
}

async function act(action: (id: string) => Promise<GameView>): Promise<void> {
  if (!game) return;
  clearError();
  const before = game;
  setState('busy');
  try {
    showGame(await action(before.id));
  } catch (error) {
    showError(error);
    await recover(before);
  }
}

/**
 * After a refused request, shows the server's current game: the refusal may mean it changed
 * elsewhere (another tab, a stale revision). Falls back to what we had if even that fails.
 */
async function recover(last: GameView): Promise<void> {
  try {
    showGame(await api.getGame(last.id));
  } catch {
    showGame(last);
  }
}

els.form.addEventListener('submit', (event) => {
  event.preventDefault();
  void (async () => {
    clearError();
    setState('busy');
    try {
      const side = els.side.value === 'black' ? 'black' : 'white';
      const view = await api.newGame(side, els.difficulty.value);
      board.setFlipped(side === 'black');
      showGame(view);
      await engineReplyIfDue();
    } catch (error) {
      showError(error);
      if (game) showGame(game);
      else setState('no-game');
    }
  })();
});

els.undo.addEventListener('click', () => void act(api.undo));
els.resign.addEventListener('click', () => {
  if (confirm('Resign this game?')) void act(api.resign);
});
els.claimDraw.addEventListener('click', () => void act(api.claimDraw));
els.flip.addEventListener('click', () => {
  board.setFlipped(!board.isFlipped());
  if (game) showGame(game);
});

async function resume(): Promise<void> {
  const id = location.hash.slice(1) || localStorage.getItem('checkers.game');
  if (!id) return setState('no-game');
  try {
    const view = await api.getGame(id);
    board.setFlipped(view.humanSide === 'black');
    // The menus show the resumed game's settings, so "New game" starts a game like it.
    els.side.value = view.humanSide;
    els.difficulty.value = view.difficulty;
    showGame(view);
    await engineReplyIfDue();
  } catch {
    localStorage.removeItem('checkers.game');
    setState('no-game');
  }
}

void resume();
