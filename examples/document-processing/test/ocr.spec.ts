import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FatalStepError, type StepContext } from '@conveyor/worker-sdk';
import type { z } from 'zod';
import { ocrHandler, type OcrInput } from '../src/handlers/ocr';
import { DEFAULT_PAGES_ROOT, pagesRootFromEnv } from '../src/handlers/page-path';

type Input = z.infer<typeof OcrInput>;

/** What the worker SDK would send back for one attempt: the output, or the thrown step error. */
async function ocr(root: string, uri: string) {
  const handler = ocrHandler(root);
  try {
    return {
      output: await handler.handle({
        input: { page: { uri }, pageNumber: 3 },
      } as StepContext<Input>),
    };
  } catch (error) {
    return { error: error as FatalStepError };
  }
}

describe('ocr handler: page URIs stay inside the pages root', () => {
  let root: string;
  let outside: string;
  beforeAll(() => {
    const base = mkdtempSync(join(tmpdir(), 'ocr-root-'));
    root = join(base, 'root');
    outside = join(base, 'outside');
    mkdirSync(join(root, 'pages'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(root, 'pages', 'p1.txt'), '# Page one\n');
    writeFileSync(join(outside, 'secret.txt'), 'server secret');
    symlinkSync(join(outside, 'secret.txt'), join(root, 'pages', 'leak.txt'));
    symlinkSync(outside, join(root, 'elsewhere'));
    symlinkSync(join(root, 'pages', 'p1.txt'), join(root, 'pages', 'alias.txt'));
  });
  afterAll(() => rmSync(join(root, '..'), { recursive: true, force: true }));

  it('reads a relative page, also through a link that stays inside and a ".." that stays inside', async () => {
    for (const uri of ['pages/p1.txt', 'pages/alias.txt', 'pages/../pages/./p1.txt']) {
      expect(await ocr(root, uri)).toEqual({ output: { pageNumber: 3, text: '# Page one' } });
    }
  });

  it.each([
    ['an absolute path', '/etc/os-release', /is an absolute path/],
    ['a file: URI', 'file:///etc/os-release', /has a scheme/],
    ['another scheme', 'http://169.254.169.254/latest/meta-data', /has a scheme/],
    ['".." out of the root', '../../../../../etc/hostname', /leaves the pages root through "\.\."/],
    ['".." after a directory', 'pages/../../outside/secret.txt', /leaves the pages root/],
    ['a backslashed ".."', '..\\outside\\secret.txt', /leaves the pages root/],
    ['a file link leading out', 'pages/leak.txt', /a link leading out of the pages root/],
    [
      'a directory link leading out',
      'elsewhere/secret.txt',
      /a link leading out of the pages root/,
    ],
  ])('refuses %s with a fatal PAGE_URI_REFUSED error', async (_what, uri, reason) => {
    const { error, output } = await ocr(root, uri);
    expect(output).toBeUndefined();
    expect(error).toBeInstanceOf(FatalStepError);
    expect(error?.retryable).toBe(false);
    expect(error?.code).toBe('PAGE_URI_REFUSED');
    expect(error?.message).toMatch(reason);
    expect(error?.message).toMatch(/relative to the pages root \(PAGES_ROOT\)/);
    expect(error?.message).not.toContain(root);
    expect(error?.message).not.toContain('server secret');
  });

  it('says a missing page is missing, relative to the root, without the server path', async () => {
    const { error } = await ocr(root, 'pages/missing.txt');
    expect(error).toBeInstanceOf(FatalStepError);
    expect(error?.code).toBe('PAGE_UNREADABLE');
    expect(error?.message).toBe(
      'cannot read page 3: no page at "pages/missing.txt" under the pages root',
    );
  });

  it('quotes at most the start of a huge URI', async () => {
    const { error } = await ocr(root, `/${'a'.repeat(5_000_000)}`);
    expect(error?.code).toBe('PAGE_URI_REFUSED');
    expect(error?.message.length).toBeLessThan(400);
    expect(error?.message).toContain('(5000001 characters)');
  });

  it('takes the root from PAGES_ROOT, else the example sample/ directory', async () => {
    expect(pagesRootFromEnv({})).toBe(DEFAULT_PAGES_ROOT);
    expect(pagesRootFromEnv({ PAGES_ROOT: root })).toBe(root);
    expect(await ocr(DEFAULT_PAGES_ROOT, 'pages/page-1.txt')).toEqual({
      output: { pageNumber: 3, text: expect.stringMatching(/^# Invoice/) },
    });
    expect((await ocr(DEFAULT_PAGES_ROOT, '../workflows/queues.yaml')).error?.code).toBe(
      'PAGE_URI_REFUSED',
    );
  });
});
