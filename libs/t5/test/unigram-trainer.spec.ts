import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { T5Tokenizer } from '../src/tokenizer';
import { normalizeForUnigram, trainUnigramTokenizer } from '../src/unigram-trainer';

const CORPUS = [
  'how do i sort a list in python',
  'how do i reverse a list in java',
  'sorting a dictionary by value in python',
  'java list sort comparator example',
  'python list comprehension with condition',
  'why does my java program throw a null pointer exception',
  'reading a file line by line in python',
  'convert a string to an integer in java',
  'how to merge two dictionaries in python',
  'the program prints the wrong value after sorting the list',
];

describe('trainUnigramTokenizer', () => {
  const tok = trainUnigramTokenizer(CORPUS, { vocabSize: 150, extraIds: 10 });

  it('produces exactly the requested vocabulary with T5 special tokens and sentinels', () => {
    expect(tok.vocabSize).toBe(150);
    expect([tok.padTokenId, tok.eosTokenId, tok.unkTokenId]).toEqual([0, 1, 2]);
    expect(tok.sentinelId(0)).toBe(149);
    expect(tok.sentinelId(9)).toBe(140);
    expect(tok.idToToken(149)).toBe('<extra_id_0>');
  });

  it('learns frequent words as single pieces and round-trips text', () => {
    expect(tok.tokenize('python list')).toEqual(['▁python', '▁list']);
    for (const line of CORPUS) {
      const ids = tok.encode(line);
      expect(ids[ids.length - 1]).toBe(1);
      expect(ids).not.toContain(tok.unkTokenId);
      expect(tok.decode(ids)).toBe(line);
    }
    // Unseen words still split into known pieces; unseen characters become <unk>.
    expect(tok.decode(tok.encode('sorting pythons'))).toBe('sorting pythons');
    expect(tok.encode('λ')).toContain(tok.unkTokenId);
  });

  it('compresses better than characters', () => {
    const chars = CORPUS.join(' ').length;
    const tokens = CORPUS.reduce((n, l) => n + tok.encode(l, { addEos: false }).length, 0);
    expect(chars / tokens).toBeGreaterThan(2.5); // characters alone would give 1
  });

  it('saves a tokenizer.json that the standard loader reads back identically', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 't5-tok-'));
    tok.save(dir);
    const again = T5Tokenizer.fromPath(dir);
    for (const line of [...CORPUS, 'Unseen  Words, with CAPS & 123'])
      expect(again.encode(line)).toEqual(tok.encode(line));
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
    expect(config).toMatchObject({
      tokenizer_class: 'T5Tokenizer',
      extra_ids: 10,
      eos_token: '</s>',
    });
  });

  it('is deterministic and normalises like the emitted tokenizer.json', () => {
    const again = trainUnigramTokenizer(CORPUS, { vocabSize: 150, extraIds: 10 });
    expect(again.json).toEqual(tok.json);
    expect(normalizeForUnigram('ﬁne   ｔｕｎｅ')).toBe('fine tune');
  });

  it('explains impossible sizes', () => {
    expect(() => trainUnigramTokenizer(CORPUS, { vocabSize: 50, extraIds: 100 })).toThrow(
      /leaves no room/,
    );
    expect(() => trainUnigramTokenizer(CORPUS, { vocabSize: 20, extraIds: 0 })).toThrow(
      /smaller than the \d+ characters/,
    );
    expect(() => trainUnigramTokenizer([], { vocabSize: 200 })).toThrow(/empty text/);
  });
});
