import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { defineStepHandler, FatalStepError } from '@conveyor/worker-sdk';
import { z } from 'zod';

/**
 * Stand-in OCR: a "scanned page" is a text file (or inline `text`), so the example runs without
 * an OCR engine. A real worker would keep its model loaded here and answer in 10–100 ms.
 */
export const OcrInput = z.object({
  page: z.union([z.object({ uri: z.string().min(1) }), z.object({ text: z.string() })]),
  pageNumber: z.number().int().positive(),
});

export function ocrHandler(baseDir: string) {
  return defineStepHandler({
    queue: 'ocr',
    input: OcrInput,
    output: z.object({ pageNumber: z.number(), text: z.string() }),
    concurrency: 8,
    async handle({ input }) {
      if ('text' in input.page) return { pageNumber: input.pageNumber, text: input.page.text };
      const uri = input.page.uri.replace(/^file:\/\//, '');
      const path = isAbsolute(uri) ? uri : resolve(baseDir, uri);
      try {
        return { pageNumber: input.pageNumber, text: (await readFile(path, 'utf8')).trim() };
      } catch (error) {
        // A missing scan will not appear by retrying.
        throw new FatalStepError(
          `cannot read page ${input.pageNumber} at ${path}: ${(error as Error).message}`,
          { code: 'PAGE_UNREADABLE' },
        );
      }
    },
  });
}
