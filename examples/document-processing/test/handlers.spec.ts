import { rateText } from '../src/handlers/classify';
import { splitDocuments } from '../src/handlers/split';

describe('example handlers', () => {
  it('starts a new document at each page that opens with a heading', () => {
    const docs = splitDocuments([
      { pageNumber: 2, text: 'continued' },
      { pageNumber: 1, text: '# Invoice 1\nfirst page' },
      { pageNumber: 3, text: '# Letter\nhello' },
    ]);
    expect(docs).toEqual([
      {
        id: 'doc-1',
        title: 'Invoice 1',
        pages: [1, 2],
        text: '# Invoice 1\nfirst page\ncontinued',
      },
      { id: 'doc-2', title: 'Letter', pages: [3], text: '# Letter\nhello' },
    ]);
    expect(splitDocuments([{ pageNumber: 1, text: 'no heading' }])[0]?.title).toBe(
      'Untitled (page 1)',
    );
  });

  it('rates short texts "none" and long ones "high"', () => {
    const top = (p: Record<string, number>) =>
      Object.entries(p).sort((a, b) => b[1] - a[1])[0]?.[0];
    expect(top(rateText('Scratch', ''))).toBe('none');
    expect(top(rateText('Invoice', 'one two three four five six seven eight nine ten'))).toBe(
      'low',
    );
    expect(top(rateText('Invoice', 'word '.repeat(30)))).toBe('high');
  });
});
