import { allContracts, classifierContracts, ClassifyRequest } from '@conveyor/contracts';

describe('classifier contracts', () => {
  it('are registered', () => {
    for (const c of classifierContracts) expect(allContracts).toContain(c);
    expect(classifierContracts.map((c) => c.type)).toEqual([
      'classifier.classify.request',
      'classifier.classify.response',
    ]);
  });
  for (const contract of classifierContracts) {
    describe(contract.type, () => {
      it('accepts its examples', () => {
        for (const example of contract.examples)
          expect(contract.schema.safeParse(example).success).toBe(true);
      });
      it('rejects its invalid examples, naming the field', () => {
        for (const { value, field } of contract.invalidExamples) {
          const result = contract.schema.safeParse(value);
          expect(result.success).toBe(false);
          expect(result.error?.issues.some((issue) => issue.path[0] === field)).toBe(true);
        }
      });
    });
  }
  it('trims titles and caps the batch size', () => {
    const items = Array.from({ length: 65 }, () => ({ title: 't', body: '' }));
    expect(
      ClassifyRequest.safeParse({ type: 'classifier.classify.request', version: 1, items }).success,
    ).toBe(false);
    expect(
      ClassifyRequest.safeParse({
        type: 'classifier.classify.request',
        version: 1,
        items: [{ title: '   ', body: '' }],
      }).success,
    ).toBe(false);
  });
});
