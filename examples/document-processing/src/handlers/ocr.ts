import { readFile } from 'node:fs/promises';
import { defineStepHandler, FatalStepError } from '@conveyor/worker-sdk';
import { z } from 'zod';
import { resolvePagePath } from './page-path';

/**
 * Stand-in OCR: a "scanned page" is a text file (or inline `text`), so the example runs without
 * an OCR engine. A real worker would keep its model loaded here and answer in 10–100 ms.
 */
export const OcrInput = z.object({
  page: z.union([z.object({ uri: z.string().min(1) }), z.object({ text: z.string() })]),
  pageNumber: z.number().int().positive(),
});

/** `pagesRoot`: the only directory page URIs may read from (page-path.ts). */
export function ocrHandler(pagesRoot: string) {
  return defineStepHandler({
    queue: 'ocr',
    input: OcrInput,
    output: z.object({ pageNumber: z.number(), text: z.string() }),
    concurrency: 8,
    async handle({ input }) {
      if ('text' in input.page) return { pageNumber: input.pageNumber, text: input.page.text };
      const page = await resolvePagePath(pagesRoot, input.page.uri);
      // Neither a refused URI nor a missing scan will change by retrying.
      if (page.kind === 'refused')
        throw new FatalStepError(`cannot read page ${input.pageNumber}: ${page.reason}`, {
          code: page.code,
        });
      try {
        return { pageNumber: input.pageNumber, text: (await readFile(page.path, 'utf8')).trim() };
      } catch (error) {
        throw new FatalStepError(
          `cannot read page ${input.pageNumber} at ${JSON.stringify(page.relative)} under the pages root: ${(error as NodeJS.ErrnoException).code ?? 'read failed'}`,
          { code: 'PAGE_UNREADABLE' },
        );
      }
    },
  });
}
