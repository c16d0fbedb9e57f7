import { ClassifyRequest, type ClassifyResponse } from '@conveyor/contracts';
import { defineStepHandler } from '@conveyor/worker-sdk';

/**
 * A heuristic stand-in for apps/classifier on the same `classify` queue and contract, so the
 * example runs without the T5 model. Run the real classifier instead and this one is not needed.
 */
export function rateText(
  title: string,
  body: string,
): ClassifyResponse['results'][number]['probabilities'] {
  const words = `${title} ${body}`.split(/\s+/).filter(Boolean).length;
  if (words < 8) return { none: 0.8, low: 0.15, high: 0.05 };
  if (words < 20) return { none: 0.1, low: 0.7, high: 0.2 };
  return { none: 0.05, low: 0.15, high: 0.8 };
}

export const classifyStandIn = defineStepHandler({
  queue: 'classify',
  input: ClassifyRequest,
  async handle({ input }): Promise<ClassifyResponse> {
    return {
      type: 'classifier.classify.response',
      version: 1,
      model: { kind: 'heuristic-stand-in', version: '1' },
      results: input.items.map((item) => {
        const probabilities = rateText(item.title, item.body);
        const label = (Object.entries(probabilities).sort((a, b) => b[1] - a[1])[0]?.[0] ??
          'none') as 'none' | 'low' | 'high';
        return { ...(item.id ? { id: item.id } : {}), label, probabilities };
      }),
    };
  },
});
