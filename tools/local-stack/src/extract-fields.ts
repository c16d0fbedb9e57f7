import { defineStepHandler, FatalStepError } from '@conveyor/worker-sdk';
import { z } from 'zod';

// The same patterns as examples/document-processing/python/worker.py, so a run gives the same
// fields whichever worker served the step.
const DATE = /\b\d{4}-\d{2}-\d{2}\b/g;
const AMOUNT = /\b\d{1,3}(?:,\d{3})*(?:\.\d{2})?\s?(?:EUR|USD|GBP)\b/g;
const EMAIL = /\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/g;

const ExtractInput = z.object({ documentId: z.string().optional(), text: z.unknown() });

export interface ExtractedFields {
  readonly documentId: string | undefined;
  readonly fields: {
    readonly dates: string[];
    readonly amounts: string[];
    readonly emails: string[];
  };
  readonly words: number;
  readonly worker: string;
}

export function extractFields(
  input: z.infer<typeof ExtractInput>,
  worker: string,
): ExtractedFields {
  if (typeof input.text !== 'string')
    throw new FatalStepError('input.text must be a string (the document text)', {
      code: 'INVALID_INPUT',
    });
  const text = input.text;
  if (text.trim() === '')
    throw new FatalStepError('the document has no text to extract fields from', {
      code: 'EMPTY_DOCUMENT',
    });
  return {
    documentId: input.documentId,
    fields: {
      dates: text.match(DATE) ?? [],
      amounts: text.match(AMOUNT) ?? [],
      emails: text.match(EMAIL) ?? [],
    },
    words: text.split(/\s+/).filter(Boolean).length,
    worker,
  };
}

/**
 * The example's `extract-fields` step, which it ships only as a Python worker. That worker speaks
 * AMQP, so it cannot reach the embedded in-process bus; the local stack serves the queue with
 * this TypeScript port instead, on either bus, so the document-processing workflow completes
 * with nothing but `npm start`.
 */
export function extractFieldsHandler(queuePrefix: string) {
  const worker = `local-stack-extract/${process.pid}`;
  return defineStepHandler({
    queue: `${queuePrefix}extract-fields`,
    input: ExtractInput,
    async handle({ input }) {
      return extractFields(input, worker);
    },
  });
}
