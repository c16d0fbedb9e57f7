import * as fs from 'node:fs';
import * as path from 'node:path';
import { PrecompiledNormalizer, extractPrecompiled } from '../src/precompiled-normalizer';
import { T5_TOKENIZER_DIR } from './helpers';

describe('PrecompiledNormalizer (nmt_nfkc charsmap of the real T5 tokenizer)', () => {
  const json = JSON.parse(fs.readFileSync(path.join(T5_TOKENIZER_DIR, 'tokenizer.json'), 'utf8'));
  const { precompiled, rest } = extractPrecompiled(json.normalizer);

  it('takes over the leading Precompiled step and leaves the rest of the sequence', () => {
    expect(precompiled).toBeInstanceOf(PrecompiledNormalizer);
    expect(rest).toEqual({ type: 'Sequence', normalizers: [json.normalizer.normalizers[1]] });
    expect(extractPrecompiled({ type: 'NFKC' })).toEqual({ rest: { type: 'NFKC' } });
  });

  it('applies NFKC-like compatibility mappings, whitespace and control rules', () => {
    const n = (s: string) => (precompiled as PrecompiledNormalizer).normalize(s);
    expect(n('ﬁne')).toBe('fine');
    expect(n('①②')).toBe('12');
    expect(n('ｆｕｌｌ')).toBe('full');
    expect(n('a\tb\nc')).toBe('a b c');
    expect(n('bell\u0007')).toBe('bell');
    expect(n('e\u0301')).toBe('é');
    expect(n('plain ascii stays')).toBe('plain ascii stays');
    // Newer than the map: unchanged (NFKC would give 令和).
    expect(n('㋿')).toBe('㋿');
  });

  it('normalises long text in windows without splitting grapheme clusters', () => {
    const n = (s: string) => (precompiled as PrecompiledNormalizer).normalize(s);
    // 13 code units per unit, so window cuts land inside CR LF and before combining marks.
    const unit = 'ab\r\n e\u0301 ﬁ ①x ';
    expect(n(unit.repeat(300))).toBe(n(unit).repeat(300));
    expect(n(unit)).toBe('ab  é fi 1x ');
  });

  it('rejects a corrupt charsmap', () => {
    expect(
      () => new PrecompiledNormalizer(Buffer.from([255, 255, 0, 0, 1]).toString('base64')),
    ).toThrow(/declares a 65535-byte trie/);
  });
});
