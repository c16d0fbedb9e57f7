import { z } from 'zod';
import type { Contract } from './contract';
import { defineContract, messageHeader } from './contract';

/**
 * Messages of the question-quality classifier (apps/classifier): the `classify` workflow step's
 * input and output. The HTTP API (POST /v1/classify) takes the same items without the header.
 */

/** The design's classes, in its order: closed without edits, edited and left open, high quality. */
export const QualityLabel = z.enum(['none', 'low', 'high']);
export type QualityLabel = z.infer<typeof QualityLabel>;

/** Limits that keep one message from monopolising the model: a question body is ~2 KB typically. */
export const CLASSIFY_LIMITS = { titleChars: 500, bodyChars: 100_000, items: 64 } as const;

export const ClassifyItem = z.object({
  /** Echoed in the result so callers can match results to their own records. */
  id: z.string().min(1).max(200).optional(),
  title: z.string().trim().min(1, 'title must not be empty').max(CLASSIFY_LIMITS.titleChars),
  /** The question body, HTML (as Stack Overflow stores it) or plain text. */
  body: z.string().max(CLASSIFY_LIMITS.bodyChars),
});
export type ClassifyItem = z.infer<typeof ClassifyItem>;

export const ClassifyRequest = z.object({
  ...messageHeader('classifier.classify.request', 1),
  items: z
    .array(ClassifyItem)
    .min(1, 'items must hold at least one question')
    .max(CLASSIFY_LIMITS.items),
});
export type ClassifyRequest = z.infer<typeof ClassifyRequest>;

export const ClassProbabilities = z.object({
  none: z.number().min(0).max(1),
  low: z.number().min(0).max(1),
  high: z.number().min(0).max(1),
});

export const ClassifyResult = z.object({
  id: z.string().min(1).max(200).optional(),
  label: QualityLabel,
  probabilities: ClassProbabilities,
});
export type ClassifyResult = z.infer<typeof ClassifyResult>;

export const ClassifyResponse = z.object({
  ...messageHeader('classifier.classify.response', 1),
  /** Which model answered, e.g. `t5` + its manifest version, for auditing predictions later. */
  model: z.object({ kind: z.string().min(1), version: z.string().min(1) }),
  /** One result per request item, in the same order. */
  results: z.array(ClassifyResult).min(1),
});
export type ClassifyResponse = z.infer<typeof ClassifyResponse>;

const item = {
  id: 'q-34555135',
  title: 'Pandas: read_html',
  body: "<p>I'm trying to extract US states from wiki URL…</p>",
};

export const classifyRequestContract = defineContract({
  type: 'classifier.classify.request',
  version: 1,
  description:
    'Input of the `classify` workflow step (queue `classify`): up to 64 questions (title + HTML or text body) to rate.',
  schema: ClassifyRequest,
  examples: [
    { type: 'classifier.classify.request', version: 1, items: [item] },
    {
      type: 'classifier.classify.request',
      version: 1,
      items: [item, { title: 'how do i sort a list in python', body: 'pls help urgent' }],
    },
  ],
  invalidExamples: [
    { field: 'items', value: { type: 'classifier.classify.request', version: 1, items: [] } },
    {
      field: 'items',
      value: { type: 'classifier.classify.request', version: 1, items: [{ title: '', body: 'x' }] },
    },
    {
      field: 'items',
      value: { type: 'classifier.classify.request', version: 1, items: [{ title: 'no body' }] },
    },
    { field: 'version', value: { type: 'classifier.classify.request', version: 2, items: [item] } },
  ],
});

export const classifyResponseContract = defineContract({
  type: 'classifier.classify.response',
  version: 1,
  description:
    'Output of the `classify` step: the predicted class and class probabilities for each item, in order.',
  schema: ClassifyResponse,
  examples: [
    {
      type: 'classifier.classify.response',
      version: 1,
      model: { kind: 't5', version: 't5-so-quality-1' },
      results: [
        { id: 'q-34555135', label: 'high', probabilities: { none: 0.05, low: 0.03, high: 0.92 } },
      ],
    },
  ],
  invalidExamples: [
    {
      field: 'results',
      value: {
        type: 'classifier.classify.response',
        version: 1,
        model: { kind: 't5', version: '1' },
        results: [{ label: 'medium', probabilities: { none: 0.1, low: 0.1, high: 0.8 } }],
      },
    },
    {
      field: 'model',
      value: {
        type: 'classifier.classify.response',
        version: 1,
        results: [{ label: 'high', probabilities: { none: 0.1, low: 0.1, high: 0.8 } }],
      },
    },
  ],
});

/** Contracts of the classifier messages (owned by the classifier work; registered in registry.ts). */
export const classifierContracts: readonly Contract[] = [
  classifyRequestContract,
  classifyResponseContract,
];
