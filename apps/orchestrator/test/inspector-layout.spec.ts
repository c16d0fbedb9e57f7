import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineStepHandler, FatalStepError } from '@conveyor/worker-sdk';
import { chromium, type Browser, type Page } from 'playwright-core';
import request from 'supertest';
import { startSystem, unique } from './harness';

jest.setTimeout(90_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Reviewed screenshots live in docs/images; a normal test run writes them to a scratch directory.
const SHOTS =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? join(__dirname, '..', '..', '..', 'docs', 'images')
    : join(tmpdir(), 'orchestrator-inspector-screenshots');

/** Page problems a user would see in the console: script errors, failed or 4xx/5xx requests. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
  });
  return problems;
}

const noSidewaysScroll = (page: Page) =>
  page.evaluate(
    (width) => document.documentElement.scrollWidth <= width,
    page.viewportSize()?.width ?? 0,
  );

/** Text boxes that cross their node's box, and edge points that lie under a text box. */
const graphProblems = (page: Page) =>
  page.evaluate(() => {
    const problems: string[] = [];
    const texts: DOMRect[] = [];
    for (const node of Array.from(document.querySelectorAll('#dag .node'))) {
      const box = node.querySelector('rect')?.getBoundingClientRect();
      for (const text of Array.from(node.querySelectorAll('text'))) {
        const t = text.getBoundingClientRect();
        texts.push(t);
        if (
          !box ||
          t.left < box.left ||
          t.right > box.right - 2 ||
          t.top < box.top ||
          t.bottom > box.bottom
        )
          problems.push(`label "${text.textContent}" leaves its box`);
      }
    }
    for (const edge of Array.from(document.querySelectorAll<SVGPathElement>('#dag .edge'))) {
      const m = edge.getScreenCTM();
      if (!m) continue;
      const length = edge.getTotalLength();
      for (let i = 0; i <= 20; i++) {
        const p = edge.getPointAtLength((length * i) / 20);
        const x = m.a * p.x + m.c * p.y + m.e;
        const y = m.b * p.x + m.d * p.y + m.f;
        if (texts.some((t) => x > t.left && x < t.right && y > t.top && y < t.bottom))
          problems.push(`an arrow runs under a label at ${Math.round(x)},${Math.round(y)}`);
      }
    }
    return problems;
  });

describe('run inspector: layout, wording and large values in headless Chromium', () => {
  let browser: Browser;
  let sys: Awaited<ReturnType<typeof startSystem>>;
  let url: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    mkdirSync(SHOTS, { recursive: true });
    const q = unique('insp-layout');
    sys = await startSystem({
      workflows: {
        // Named like the example, so the empty state offers the README's own curl.
        'document-processing.yaml': `
name: document-processing
version: 1
steps:
  ocr: { forEach: input.pages, concurrency: 2, queue: ${q}-ocr, input: '{ "page": item }' }
  split: { needs: [ocr], queue: ${q}-split-documents, input: '{ "pages": steps.ocr }' }
  documents: { needs: [split], forEach: steps.split.documents, workflow: doc }
  summariseEverythingInTheBundle: { needs: [documents], queue: ${q}-split-documents, input: '{ "n": 1 }' }
`,
        'doc.yaml': `
name: doc
version: 1
steps:
  classify: { queue: ${q}-classify }
`,
        'broken.yaml': `
name: broken
version: 1
steps:
  explode: { queue: ${q}-boom, retry: { maxAttempts: 1 } }
`,
      },
      handlers: [
        defineStepHandler({ queue: `${q}-ocr`, handle: async ({ input }) => ({ text: input }) }),
        defineStepHandler({
          queue: `${q}-split-documents`,
          handle: async () => ({ documents: [{ id: 'd1' }, { id: 'd2' }] }),
        }),
        defineStepHandler({ queue: `${q}-classify`, handle: async () => ({ quality: 'high' }) }),
        defineStepHandler({
          queue: `${q}-boom`,
          handle: async () => {
            throw new FatalStepError(`cannot read ${'/very/long/path/'.repeat(200)}page.txt`);
          },
        }),
      ],
    });
    url = sys.orchestrator.url;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await sys?.close();
  });

  it('shows how to start a run when there is none, without console errors (favicon included)', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 600 } });
    const problems = watch(page);
    await page.goto(url);
    await page.waitForSelector('#empty:not([hidden])');
    const hint = await page.textContent('#empty');
    expect(hint).toContain('No runs yet');
    expect(hint).toContain(
      [
        `curl -s -X POST ${url}/api/workflows/document-processing/runs \\`,
        "  -H 'content-type: application/json' \\",
        '  -d "{\\"input\\": $(cat examples/document-processing/sample/bundle.json), \\"waitMs\\": 60000}"',
      ].join('\n'),
    );
    expect(hint).toContain("-H 'content-type: application/json'");
    await page.screenshot({ path: join(SHOTS, 'inspector-empty.png') });
    const icon = await request(url).get('/inspector/favicon.svg');
    expect(icon.status).toBe(200);
    expect((await request(url).get('/favicon.ico')).status).toBe(200);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('fits labels in their boxes, labels inputs and outputs, and words steps plainly', async () => {
    const api = request(url);
    const big = {
      pages: Array.from({ length: 3 }, (_, i) => `page ${i}`),
      blob: 'x'.repeat(300_000),
    };
    const ok = (
      await api.post('/api/workflows/document-processing/runs').send({ input: big, waitMs: 20_000 })
    ).body.run;
    expect(ok.status).toBe('succeeded');
    const failed = (
      await api.post('/api/workflows/broken/runs').send({ input: {}, waitMs: 20_000 })
    ).body.run;
    expect(failed.status).toBe('failed');

    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems = watch(page);
    await page.goto(url);
    await page.waitForSelector(`tr.run-row[data-id="${ok.id}"]`);
    const listTime = await page.textContent(`tr.run-row[data-id="${ok.id}"] time`);
    // A long error stays within two lines in the list.
    const rowHeight = await page
      .locator(`tr.run-row[data-id="${failed.id}"]`)
      .evaluate((r) => r.getBoundingClientRect().height);
    expect(rowHeight).toBeLessThan(60);
    expect(await noSidewaysScroll(page)).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'inspector-list.png') });

    await page.click(`tr.run-row[data-id="${ok.id}"]`);
    await page.waitForSelector('#dag .node');
    expect(await page.getAttribute('#dag', 'data-layout')).toBe('horizontal');
    expect(await graphProblems(page)).toEqual([]);
    expect(await page.textContent('#dag')).not.toMatch(/#\d/);
    // The same time, written the same way, in the list and on the run page.
    expect(await page.textContent('main > p.muted time')).toBe(listTime);
    expect(await page.textContent('#run-input h3')).toBe('Run input');
    expect(await page.textContent('#run-output h3')).toBe('Run output');

    // The 300 KB input is collapsed: its size, shown on demand, downloadable whole.
    const collapsed = page.locator('#run-input details.json');
    expect(await collapsed.getAttribute('open')).toBeNull();
    expect(await collapsed.locator('summary').textContent()).toMatch(
      /JSON \d+ lines · 29\d\.\d KiB/,
    );
    await collapsed.locator('summary').click();
    await page.waitForFunction(
      () => (document.querySelector('#run-input pre')?.textContent?.length ?? 0) > 200_000,
    );
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('#run-input button.download'),
    ]);
    const saved = await download.path();
    expect(JSON.parse(readFileSync(saved, 'utf8'))).toEqual(big);

    await page.click('#dag .node[data-step="split"]');
    await page.waitForSelector('#step-panel');
    const split = await page.textContent('#step-panel');
    expect(split).toMatch(/Sent to queue \S+-split-documents · attempt 1 of 3/);
    expect(split).not.toMatch(/queue on queue/);
    expect(await page.textContent('#step-input h4')).toBe('Step input');
    expect(await page.textContent('#step-output h4')).toBe('Step output');

    await page.click('#dag .node[data-step="ocr"]');
    await page.waitForSelector('#step-panel');
    const ocr = await page.textContent('#step-panel');
    expect(ocr).toMatch(/Fan-out of 3 items, each to queue \S+-ocr/);
    expect(await page.textContent('#step-input')).toContain('A fan-out has no input of its own');
    expect(await page.textContent('#step-input')).not.toContain('null');
    expect(await page.textContent('#step-output h4')).toBe(
      'Step output (the list of item outputs)',
    );
    await page.screenshot({ path: join(SHOTS, 'inspector-run.png'), fullPage: true });

    await page.goto(`${url}/#/runs/${failed.id}`);
    await page.waitForSelector('#run-error');
    expect(await page.textContent('#run-error summary')).toMatch(/^show all \d+ characters$/);
    await page.screenshot({ path: join(SHOTS, 'inspector-failed-run.png'), fullPage: true });
    expect(await noSidewaysScroll(page)).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('does not scroll sideways on a 390 px phone', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    const problems = watch(phone);
    await phone.goto(url);
    await phone.waitForSelector('tr.run-row');
    expect(await noSidewaysScroll(phone)).toBe(true);
    await phone.screenshot({ path: join(SHOTS, 'inspector-list-phone.png'), fullPage: true });

    await phone.click('tr.run-row >> nth=-1');
    await phone.waitForSelector('#dag .node');
    expect(await phone.getAttribute('#dag', 'data-layout')).toBe('vertical');
    expect(await graphProblems(phone)).toEqual([]);
    await phone.click('#dag .node[data-step="ocr"]');
    await phone.waitForSelector('#step-panel');
    expect(await noSidewaysScroll(phone)).toBe(true);
    await phone.screenshot({ path: join(SHOTS, 'inspector-run-phone.png'), fullPage: true });
    expect(problems).toEqual([]);
    await phone.close();
  });
});
