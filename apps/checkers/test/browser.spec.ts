import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { formatMovePath, newGame, playMove, search, type Game } from '@conveyor/draughts';
import type { MoveRecord } from '../src/game-record';
import type { GameView } from '../src/game-view';
import { openDatabase } from '../src/persistence/database';
import { GameStore } from '../src/persistence/game-store';
import { describeGame } from '../src/rules';
import type { RunningCheckers } from '../src/main';
import { createTestStorage, startTestServer, testConfig, type TestStorage } from './harness';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const OUTPUT_DIR = join(__dirname, '..', 'test-output');
/**
 * Screenshots kept in the repository, looked at when the page changes: written there only with
 * UPDATE_SCREENSHOTS=1 (a normal run, CI's included, leaves the work tree as it was).
 */
const IMAGES_DIR =
  process.env['UPDATE_SCREENSHOTS'] === '1'
    ? join(__dirname, '..', '..', '..', 'docs', 'images')
    : OUTPUT_DIR;

/**
 * A person's game in headless Chromium: new game against the easy engine, every human move made
 * by clicking (the first by dragging), until the game ends by the rules. The human policy is
 * cheap and deterministic: the lowest-numbered movable piece to its lowest-numbered target.
 */
// A whole game with animations takes 20-40 s here; CI may run other projects' tests alongside.
jest.setTimeout(180_000);

describe('playing in the browser', () => {
  let storage: TestStorage;
  let server: RunningCheckers;
  let browser: Browser;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    storage = createTestStorage('sqlite');
    server = await startTestServer(storage.env);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    mkdirSync(OUTPUT_DIR, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await storage?.dispose();
  });

  const watch = (page: Page) => {
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  };
  const settled = (page: Page) =>
    page.waitForSelector('body[data-state="human-turn"], body[data-state="finished"]', {
      timeout: 30_000,
    });
  const squaresOf = async (page: Page, selector: string, attribute: string) =>
    (
      await page.$$eval(selector, (els, a) => els.map((e) => Number(e.getAttribute(a))), attribute)
    ).sort((a, b) => a - b);

  it('plays a complete game against the engine by clicking', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 820 } });
    watch(page);
    await page.goto(server.url);
    await page.waitForSelector('body[data-state="no-game"]');
    await page.selectOption('#side', 'white');
    await page.selectOption('#difficulty', 'easy');
    await page.click('#new-game-button');
    await settled(page);
    expect(await page.textContent('#status')).toContain('White to move (your move)');
    // Square 1 is White's bottom-right corner in the Spanish orientation.
    const one = await page.locator('rect[data-square="1"]').boundingBox();
    const thirtyTwo = await page.locator('rect[data-square="32"]').boundingBox();
    expect(one && thirtyTwo && one.x > thirtyTwo.x && one.y > thirtyTwo.y).toBe(true);

    let humanMoves = 0;
    let compulsoryCaptures = 0;
    for (; humanMoves < 300; humanMoves++) {
      await settled(page);
      if ((await page.getAttribute('body', 'data-state')) === 'finished') break;
      const movable = await squaresOf(page, '#board .piece.movable', 'data-square');
      expect(movable.length).toBeGreaterThan(0);
      // Exactly the pieces the server says can move are selectable; when a capture is
      // compulsory those are the capturing pieces only, and the page says so.
      const view = (await (
        await fetch(`${server.url}/api/games/${new URL(page.url()).hash.slice(1)}`)
      ).json()) as GameView;
      expect(movable).toEqual(
        [...new Set(view.legalMoves.map((m) => m.from))].sort((a, b) => a - b),
      );
      if (view.legalMoves.some((m) => m.captured.length > 0)) {
        compulsoryCaptures++;
        expect(view.legalMoves.every((m) => m.captured.length > 0)).toBe(true);
        expect(await page.textContent('#status')).toContain('capture is compulsory');
      }
      const from = movable[0] as number;
      if (humanMoves === 10)
        await page.locator('#board').screenshot({ path: join(OUTPUT_DIR, 'checkers-board.png') });
      if (humanMoves === 0) {
        await dragFirstMove(page, from);
      } else {
        await page.click(`#board .piece[data-square="${from}"]`);
        // Ambiguous captures ask for the next landing square until one move is left.
        while ((await page.getAttribute('body', 'data-state')) === 'human-turn') {
          const targets = await squaresOf(page, '#board rect.target', 'data-target');
          if (targets.length === 0) break;
          await page.click(`#board rect.target[data-target="${targets[0]}"]`);
        }
      }
      await page.waitForFunction(
        () =>
          document.body.dataset['state'] !== 'human-turn' ||
          document.querySelector('#error:not([hidden])'),
      );
      expect(await page.isHidden('#error')).toBe(true);
    }

    await page.waitForSelector('body[data-state="finished"]');
    const status = (await page.textContent('#status')) ?? '';
    expect(status).toMatch(/^(1-0|0-1|1\/2-1\/2) — /);
    expect(status).toMatch(/no legal move|no pieces left|occurred three times|without a capture/);
    const gameId = new URL(page.url()).hash.slice(1);
    const stored = (await (await fetch(`${server.url}/api/games/${gameId}`)).json()) as {
      moves: unknown[];
      status: { state: string };
    };
    expect(stored.status.state).toBe('finished');
    expect(humanMoves).toBeGreaterThan(3);
    // Most games give the human a forced capture (checked above when they do); a game without
    // one is rare but legal, so this is reported rather than asserted.
    if (compulsoryCaptures === 0) console.warn('this game never forced a capture on the human');
    // The move list shows every ply, two to a numbered line.
    const cells = await page.$$eval('#move-list li span', (spans) =>
      spans.map((s) => s.textContent).filter((t) => t !== '…'),
    );
    expect(cells).toHaveLength(stored.moves.length);
    expect(await page.isDisabled('#resign')).toBe(true);
    expect(await page.getAttribute('#download-pdn', 'href')).toBe(`api/games/${gameId}/pdn`);
    await page.screenshot({ path: join(OUTPUT_DIR, 'checkers-final.png'), fullPage: true });

    // The same game on a phone-sized screen: resumed from the URL, board within the viewport.
    const phone = await browser.newPage({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    watch(phone);
    await phone.goto(`${server.url}/#${gameId}`);
    await phone.waitForSelector('body[data-state="finished"]');
    const box = await phone.locator('#board').boundingBox();
    expect(box && box.width <= 390 && box.width > 300).toBe(true);
    await phone.screenshot({ path: join(OUTPUT_DIR, 'checkers-phone.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('plays Black with the board flipped, and undoes a move', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    watch(page);
    await page.goto(server.url);
    await page.selectOption('#side', 'black');
    await page.selectOption('#difficulty', 'easy');
    await page.click('#new-game-button');
    await settled(page); // the engine (White) has moved
    expect(await page.$$eval('#move-list li span', (s) => s.length)).toBe(1);
    // Flipped for Black: square 32 is now at the bottom-right.
    const one = await page.locator('rect[data-square="1"]').boundingBox();
    const thirtyTwo = await page.locator('rect[data-square="32"]').boundingBox();
    expect(one && thirtyTwo && thirtyTwo.x > one.x && thirtyTwo.y > one.y).toBe(true);
    const from = (await squaresOf(page, '#board .piece.movable', 'data-square'))[0];
    await page.click(`#board .piece[data-square="${from}"]`);
    const to = (await squaresOf(page, '#board rect.target', 'data-target'))[0];
    await page.click(`#board rect.target[data-target="${to}"]`);
    await page.waitForFunction(() => document.querySelectorAll('#move-list li span').length === 3);
    await settled(page);
    await page.click('#undo');
    await page.waitForFunction(() => document.querySelectorAll('#move-list li span').length === 1);
    await page.click('#flip');
    const oneFlipped = await page.locator('rect[data-square="1"]').boundingBox();
    const thirtyTwoFlipped = await page.locator('rect[data-square="32"]').boundingBox();
    expect(
      oneFlipped &&
        thirtyTwoFlipped &&
        oneFlipped.x > thirtyTwoFlipped.x &&
        oneFlipped.y > thirtyTwoFlipped.y,
    ).toBe(true);

    // Resign (after confirming), then download the PDN of the finished game.
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#resign');
    await page.waitForSelector('body[data-state="finished"]');
    expect(await page.textContent('#status')).toBe('1-0 — Black resigned: White wins.');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('#download-pdn'),
    ]);
    expect(download.suggestedFilename()).toMatch(/^checkers-[0-9a-f-]{36}\.pdn$/);
    const pdn = await readFile((await download.path()) as string, 'utf8');
    expect(pdn).toContain('[Black "Human"]');
    expect(pdn).toContain('[Result "1-0"]');
    expect(pageErrors).toEqual([]);
  });
});

describe('what the page shows about the engine and a resumed game', () => {
  let storage: TestStorage;
  let server: RunningCheckers;
  let browser: Browser;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    storage = createTestStorage('sqlite');
    server = await startTestServer(storage.env);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    mkdirSync(IMAGES_DIR, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await storage?.dispose();
  });

  const open = async (path = '') => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 820 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    await page.goto(`${server.url}/${path}`);
    return page;
  };

  it("shows the engine's time for each of its moves, and the resumed game's side and difficulty", async () => {
    const page = await open();
    await page.waitForSelector('body[data-state="no-game"]');
    await page.selectOption('#side', 'black');
    await page.selectOption('#difficulty', 'hard');
    await page.click('#new-game-button');
    // The engine (White, hard) moves first.
    await page.waitForSelector('body[data-state="human-turn"]', { timeout: 60_000 });
    const gameId = new URL(page.url()).hash.slice(1);
    const view = (await (await fetch(`${server.url}/api/games/${gameId}`)).json()) as GameView;
    const engineMove = view.moves[0];
    const ms = `${Math.round(engineMove?.stats?.elapsedMs ?? NaN)} ms`;
    // Visible on the page, not only in a tooltip: beside the move and under the status.
    expect(await page.textContent('#move-list li span .engine-time')).toBe(ms);
    expect(await page.isVisible('#move-list li span .engine-time')).toBe(true);
    expect(await page.textContent('#engine-info')).toContain(
      `Engine's last move ${engineMove?.notation}: ${ms}`,
    );
    expect(await page.isVisible('#engine-info')).toBe(true);
    await page.screenshot({ path: join(IMAGES_DIR, 'checkers-engine-time.png') });

    // Opened from its URL in a fresh page, the menus show this game's settings, not the defaults.
    const resumed = await open(`#${gameId}`);
    await resumed.waitForSelector('body[data-state="human-turn"]');
    expect(await resumed.inputValue('#difficulty')).toBe('hard');
    expect(await resumed.inputValue('#side')).toBe('black');
    expect(pageErrors).toEqual([]);
  });

  it('says White has no pieces left when the engine took them all', async () => {
    // The engine (Black) takes every white piece against a careless human; stored directly.
    const moves = lineLosingEveryWhitePiece();
    const db = await openDatabase(testConfig(storage.env).database);
    let id: string;
    try {
      const store = new GameStore(db);
      const created = await store.create({ humanSide: 'white', difficulty: 'medium' });
      await store.update(created, {
        moves: moves.map((notation, i): MoveRecord =>
          i % 2 === 0
            ? { by: 'human', notation }
            : {
                by: 'engine',
                notation,
                stats: { score: 0, depth: 4, nodes: 1_000, elapsedMs: 12 },
              },
        ),
        termination: null,
      });
      id = created.id;
    } finally {
      await db.destroy();
    }
    const page = await open(`#${id}`);
    await page.waitForSelector('body[data-state="finished"]');
    expect(await page.textContent('#status')).toBe('0-1 — White has no pieces left: Black wins.');
    expect(
      await page.$$eval('#board .piece', (els) => els.every((e) => e.classList.contains('black'))),
    ).toBe(true);
    await page.screenshot({ path: join(IMAGES_DIR, 'checkers-no-pieces-left.png') });
    expect(pageErrors).toEqual([]);
  });
});

/**
 * A game from the start in which White (a careless human: a seeded random move) loses every
 * piece to Black (a 4-ply search). Deterministic: no time limits.
 */
function lineLosingEveryWhitePiece(): string[] {
  for (let seed = 1; seed <= 40; seed++) {
    let game: Game = newGame();
    const moves: string[] = [];
    while (game.status.kind === 'ongoing' && moves.length < 300) {
      const white = moves.length % 2 === 0;
      const { move } = search(
        game,
        white
          ? { depth: 1, randomize: true, randomMargin: 100, seed: seed * 31 + moves.length }
          : { depth: 4 },
      );
      if (!move) break;
      const next = playMove(game, move);
      if (!next.ok) throw new Error(next.error.message);
      game = next.value;
      moves.push(formatMovePath(move));
    }
    const status = describeGame(game).boardStatus;
    if (status.state === 'finished' && status.winner === 'black' && moves.length % 2 === 0) {
      const white = describeGame(game).board.filter((p) => p.color === 'white');
      if (white.length === 0) return moves;
    }
  }
  throw new Error('no seeded game lost every white piece');
}

/** Drags the piece on `from` to its lowest-numbered legal destination. */
async function dragFirstMove(page: Page, from: number): Promise<void> {
  const piece = await page.locator(`#board .piece[data-square="${from}"]`).boundingBox();
  if (!piece) throw new Error(`no piece on ${from}`);
  await page.mouse.move(piece.x + piece.width / 2, piece.y + piece.height / 2);
  await page.mouse.down();
  await page.mouse.move(piece.x + piece.width / 2 + 10, piece.y + piece.height / 2 - 10, {
    steps: 3,
  });
  const targets = (
    await page.$$eval('#board rect.target', (els) =>
      els.map((e) => Number(e.getAttribute('data-target'))),
    )
  ).sort((a, b) => a - b);
  const target = await page
    .locator(`#board rect.target[data-target="${targets[0]}"]`)
    .boundingBox();
  if (!target) throw new Error('dragging showed no destination');
  await page.mouse.move(target.x + target.width / 2, target.y + target.height / 2, { steps: 5 });
  await page.mouse.up();
}
