import { shapeSummary, t5InputText } from '../src/model/t5-input';

describe('T5 input text', () => {
  it('is the prefix and the question when no shape summary is asked for', () => {
    expect(t5InputText({ prefix: 'quality: ', shapeSummary: false }, 'pandas read html')).toBe(
      'quality: pandas read html',
    );
  });

  it('summarises length, markup and where code sits in binned counts before the question', () => {
    // 13 words: len bin floor(1.5 · log2 14) = 5; 2 × pre → 2; the first pre is word 2, the last 7 from the end → 4.
    const text = 'why error pre code x code pre see href http example com thanks';
    expect(shapeSummary(text)).toBe(
      'len 5 pre 2 code 2 href 1 img 0 blockquote 0 strong 0 li 0 edit 0 error 1 thanks 1 paren 0 digits 0 first 2 last 4 ;',
    );
    expect(t5InputText({ prefix: 'quality: ', shapeSummary: true }, text)).toBe(
      `quality: ${shapeSummary(text)} ${text}`,
    );
  });

  it('marks a question without code blocks and grows the length bin logarithmically', () => {
    expect(shapeSummary('')).toMatch(/^len 0 .* first - last - ;$/);
    const long = Array.from({ length: 3000 }, () => 'w').join(' ');
    const short = Array.from({ length: 300 }, () => 'w').join(' ');
    expect(shapeSummary(long)).toMatch(/^len 15 /);
    expect(shapeSummary(short)).toMatch(/^len 12 /);
  });
});
