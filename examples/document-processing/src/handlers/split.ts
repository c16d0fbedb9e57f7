import { defineStepHandler } from '@conveyor/worker-sdk';
import { z } from 'zod';

export const Page = z.object({ pageNumber: z.number().int(), text: z.string() });
export const Document = z.object({
  id: z.string(),
  title: z.string(),
  pages: z.array(z.number().int()),
  text: z.string(),
});
export type Document = z.infer<typeof Document>;

/** A page whose first line is a `# heading` starts a new document; other pages continue the last one. */
export function splitDocuments(pages: z.infer<typeof Page>[]): Document[] {
  const documents: Document[] = [];
  for (const page of [...pages].sort((a, b) => a.pageNumber - b.pageNumber)) {
    const heading = /^#\s*(.+)$/m.exec(page.text.split('\n')[0] ?? '');
    const current = documents[documents.length - 1];
    if (heading || !current) {
      documents.push({
        id: `doc-${documents.length + 1}`,
        title: heading?.[1]?.trim() ?? `Untitled (page ${page.pageNumber})`,
        pages: [page.pageNumber],
        text: page.text,
      });
    } else {
      current.pages.push(page.pageNumber);
      current.text += `\n${page.text}`;
    }
  }
  return documents;
}

export const splitHandler = defineStepHandler({
  queue: 'split-documents',
  input: z.object({ pages: z.array(Page).min(1) }),
  output: z.object({ documents: z.array(Document) }),
  async handle({ input }) {
    return { documents: splitDocuments(input.pages) };
  },
});
