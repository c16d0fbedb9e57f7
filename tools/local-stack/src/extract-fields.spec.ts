import { FatalStepError } from '@conveyor/worker-sdk';
import { extractFields } from './extract-fields';

describe('extract-fields (TypeScript port of the example Python worker)', () => {
  it('finds dates, amounts and e-mail addresses', () => {
    const text =
      'Invoice dated 2026-11-02, due 2026-12-02: 1,240.00 EUR and 15 USD. Contact billing@acme-paper.example or x.y+z@a-b.co.uk.';
    expect(extractFields({ documentId: 'doc-1', text }, 'w')).toEqual({
      documentId: 'doc-1',
      fields: {
        dates: ['2026-11-02', '2026-12-02'],
        amounts: ['1,240.00 EUR', '15 USD'],
        emails: ['billing@acme-paper.example', 'x.y+z@a-b.co.uk'],
      },
      words: 14,
      worker: 'w',
    });
  });

  it('fails at once, not retryably, on input it can never handle', () => {
    for (const [text, code] of [
      [42, 'INVALID_INPUT'],
      ['  \n', 'EMPTY_DOCUMENT'],
    ] as const) {
      let thrown: unknown;
      try {
        extractFields({ text }, 'w');
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(FatalStepError);
      expect(thrown).toMatchObject({ code, retryable: false });
    }
  });
});
