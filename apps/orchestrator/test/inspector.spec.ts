import { existsSync } from 'node:fs';
import { defineStepHandler, FatalStepError } from '@conveyor/worker-sdk';
import { chromium, type Browser } from 'playwright-core';
import request from 'supertest';
import { startSystem, unique } from './harness';

jest.setTimeout(60_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('run inspector in headless Chromium', () => {
  let browser: Browser;
  let sys: Awaited<ReturnType<typeof startSystem>>;
  let okRun: string;
  let failedRun: string;
  let release: () => void = () => undefined;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    const q = unique('insp');
    const gate = new Promise<void>((resolve) => (release = resolve));
    sys = await startSystem({
      workflows: {
        'pages.yaml': `
name: pages
version: 1
steps:
  fetch: { queue: ${q} }
  ocr: { needs: [fetch], forEach: input.pages, concurrency: 2, queue: ${q}, input: '{ "page": item }' }
  merge: { needs: [ocr], queue: ${q}, input: '{ "merge": steps.ocr }' }
`,
        'broken.yaml': `
name: broken
version: 1
steps:
  explode: { queue: ${q}-boom, retry: { maxAttempts: 1 } }
`,
        'held.yaml': `
name: held
version: 1
steps:
  first: { queue: ${q} }
  wait: { queue: ${q}-held, needs: [first] }
`,
      },
      handlers: [
        defineStepHandler({ queue: q, handle: async ({ input }) => ({ done: input }) }),
        defineStepHandler({
          queue: `${q}-boom`,
          handle: async () => {
            throw new FatalStepError('the scanner jammed', { code: 'JAMMED' });
          },
        }),
        defineStepHandler({ queue: `${q}-held`, handle: async () => (await gate, 'released') }),
      ],
    });
    const api = request(sys.orchestrator.url);
    okRun = (
      await api
        .post('/api/workflows/pages/runs')
        .send({ input: { pages: [1, 2, 3] }, waitMs: 10_000 })
    ).body.run.id;
    failedRun = (await api.post('/api/workflows/broken/runs').send({ input: {}, waitMs: 10_000 }))
      .body.run.id;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  afterAll(async () => {
    release();
    await browser?.close();
    await sys?.close();
  });

  it('lists runs, filters them, and shows a run DAG, timeline and step detail', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(sys.orchestrator.url);
    await page.waitForSelector(`tr.run-row[data-id="${okRun}"]`);
    expect(await page.locator('tr.run-row').count()).toBe(2);

    await page.selectOption('#f-status', 'failed');
    await page.waitForFunction(() => document.querySelectorAll('tr.run-row').length === 1);
    expect(await page.locator('tr.run-row').first().getAttribute('data-id')).toBe(failedRun);
    expect(await page.locator('tr.run-row').first().textContent()).toContain('the scanner jammed');
    await page.selectOption('#f-status', '');
    await page.selectOption('#f-workflow', 'pages');
    await page.waitForFunction(() => document.querySelectorAll('tr.run-row').length === 1);

    await page.click(`tr.run-row[data-id="${okRun}"]`);
    await page.waitForSelector('#dag .node');
    const nodes = await page.$$eval('#dag .node', (els) =>
      els.map((e) => `${e.getAttribute('data-step')}:${e.getAttribute('class')}`),
    );
    expect(nodes).toEqual(['fetch:node succeeded', 'ocr:node succeeded', 'merge:node succeeded']);
    expect(await page.locator('#dag .edge').count()).toBe(2);
    expect(await page.locator('.timeline-row').count()).toBe(3);

    await page.click('#dag .node[data-step="ocr"]');
    await page.waitForSelector('#step-panel');
    const panel = await page.textContent('#step-panel');
    expect(panel).toContain('Items (3; 3 succeeded, 0 failed)');
    expect(panel).toMatch(/Fan-out of 3 items, each to queue \S+/);

    await page.goto(`${sys.orchestrator.url}/#/runs/${failedRun}`);
    await page.waitForSelector('#run-error');
    expect(await page.textContent('#run-error')).toContain(
      'step explode failed: the scanner jammed',
    );
    await page.click('#dag .node[data-step="explode"]');
    await page.waitForSelector('#step-panel');
    expect(await page.textContent('#step-panel')).toMatch(/Attempts.*1failed.*the scanner jammed/s);
    expect(errors).toEqual([]);
  });

  it('updates a running run live over server-sent events', async () => {
    const run = (
      await request(sys.orchestrator.url).post('/api/workflows/held/runs').send({ input: {} })
    ).body.run.id;
    const page = await browser.newPage();
    await page.goto(`${sys.orchestrator.url}/#/runs/${run}`);
    await page.waitForSelector('#dag .node[data-step="wait"].running');
    expect(await page.textContent('#live')).toBe('live');
    release();
    await page.waitForSelector('#dag .node[data-step="wait"].succeeded', { timeout: 10_000 });
    expect(await page.textContent('h2')).toContain('succeeded');
  });
});
