import { htmlToText, normalizeText, questionText } from '../src/data/normalize';
import { keepHeadAndTail } from '../src/model/truncate';

describe('normalizeText', () => {
  it('lower-cases, keeps letters, digits and parentheses, drops stop words', () => {
    expect(normalizeText('How do I use Array.map() in ES6?')).toBe('use array map() es6');
    // Contraction fragments go, except those train.csv kept ("t", "d").
    expect(normalizeText("It isn't working, and I'll like help")).toBe('t working like help');
  });
  it('keeps the words train.csv kept although common stop-word lists drop them', () => {
    expect(normalizeText('would could get like')).toBe('would could get like');
  });
  it('is idempotent on already-normalised text', () => {
    const once = normalizeText('Pandas: read_html fails with ImportError (html5lib)');
    expect(normalizeText(once)).toBe(once);
  });
});

describe('htmlToText', () => {
  it('keeps element and attribute words, drops <p>, leaves entities encoded', () => {
    expect(
      normalizeText(
        htmlToText(
          '<p>See <a href="http://x.io/a?b=1&amp;c=2" rel="nofollow">this</a> &lt;tag&gt;</p>',
        ),
      ),
    ).toBe('see href http x io b 1 amp c 2 rel nofollow lt tag gt');
  });
  it('is forgiving of broken markup', () => {
    expect(normalizeText(htmlToText('<pre><code>x < 2 && y</code'))).toBe('pre code x 2 y');
  });
  it('puts the title first', () => {
    expect(questionText('Title Words', '<p>body words</p>', 'html')).toBe('title words body words');
  });
});

describe('keepHeadAndTail', () => {
  const seq = Array.from({ length: 600 }, (_, i) => i);
  it('keeps the first 256 and the last 256 tokens of long inputs', () => {
    const kept = keepHeadAndTail(seq);
    expect(kept).toHaveLength(512);
    expect(kept.slice(0, 256)).toEqual(seq.slice(0, 256));
    expect(kept.slice(256)).toEqual(seq.slice(344));
    expect(kept[255]).toBe(255);
    expect(kept[256]).toBe(344);
  });
  it('leaves inputs of at most 512 tokens alone', () => {
    expect(keepHeadAndTail(seq.slice(0, 512))).toEqual(seq.slice(0, 512));
    expect(keepHeadAndTail([1, 2, 3], 1, 1)).toEqual([1, 3]);
  });
  it('rejects negative sizes', () => {
    expect(() => keepHeadAndTail(seq, -1, 2)).toThrow(/integers ≥ 0/);
  });
});
