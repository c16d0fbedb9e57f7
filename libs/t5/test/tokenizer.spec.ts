import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { T5Tokenizer } from '../src/tokenizer';
import { trainUnigramTokenizer } from '../src/unigram-trainer';
import { SHARED_DIR, T5_TOKENIZER_DIR, must } from './helpers';

// Expected ids come from SentencePiece itself (Debian python3-sentencepiece 0.1.97,
// `SentencePieceProcessor(model_file='spiece.model').encode(text) + [1]`) on the fixture's
// spiece.model, the model tokenizer.json was converted from. They exercise the Precompiled
// (nmt_nfkc) normaliser, whitespace-run collapsing, Viterbi over piece scores, <unk> for
// uncovered characters (consecutive unknowns are separate pieces because ▁ splits words), and
// the appended </s>.
const SPM_IDS: [string, number[]][] = [
  ['Hello world!', [435, 8564, 2960, 524, 1]],
  [
    'The quick brown fox jumps over the lazy dog.',
    [148, 128, 940, 212, 13387, 31, 3058, 1010, 4205, 1562, 6, 1492, 11, 7, 4636, 21675, 4, 1],
  ],
  [
    'Le Conseil a adopté 12 règlements en 2019, dont 3 (trois) urgents.',
    [
      199, 296, 10, 4755, 398, 315, 6, 13, 396, 1042, 3, 1199, 120, 16, 1093, 996, 14, 7189, 6, 4,
      1,
    ],
  ],
  [
    'How do I sort a List<String> in Java 8? I tried Collections.sort(list)...',
    [
      11189, 207, 92, 6110, 10, 133, 1424, 2, 10622, 1634, 2, 12, 5047, 394, 318, 104, 92, 3906,
      164, 7642, 222, 3108, 6, 4, 10137, 192, 22510, 496, 4, 4, 1,
    ],
  ],
  [
    'Multiple   spaces\tand\ttabs\nnewline',
    [18522, 8387, 21049, 6, 32, 1008, 216, 6, 747, 2746, 1],
  ],
  [
    'UPPER lower MiXeD 1234567890 3.14159 $100 50%',
    [
      1530, 883, 884, 13731, 1520, 3761, 20, 341, 10327, 18755, 2681, 1485, 8518, 1671, 2312, 8, 2,
      9649, 16656, 1,
    ],
  ],
  [
    'naïve café — “quotes” ‘single’ … ellipsis',
    [
      101, 2, 805, 1689, 277, 169, 262, 2426, 265, 68, 954, 8, 2, 6, 132, 222, 67, 2029, 33, 294,
      462, 7783, 1,
    ],
  ],
  ['Unknown: ☃ 😀 漢字 Ω', [859, 31966, 39, 8, 2, 8, 2, 8, 2, 8, 2, 1]],
  ['ﬁnancial ｆｕｌｌｗｉｄｔｈ ①②', [951, 2283, 2362, 82, 909, 398, 1]],
  [
    'e-mail: user@example.com, url: https://x.org/a?b=c&d=e',
    [
      29, 23, 8566, 39, 1027, 52, 2, 912, 2609, 222, 4, 2540, 3, 3451, 197, 39, 2568, 6, 2179, 1010,
      4, 3938, 79, 35, 104, 216, 2, 225, 1063, 82, 2, 20, 1,
    ],
  ],
  ['zero\u200bwidth', [609, 479, 2051, 959, 909, 1]],
  ['nbsp\u00a0here', [8, 22467, 3593, 1]],
  ['half ½ and ™ and ㎏', [14780, 83, 2, 459, 32, 457, 573, 32, 5996, 1]],
  ['combining e\u0301 vs é', [431, 3365, 693, 1327, 75, 6, 1327, 1]],
  ['control\u0007bell', [842, 216, 3021, 1]],
  ['ＡＢＣ　ｘｙｚ', [103, 18357, 4443, 88, 257, 1]],
  ['line\r\nbreak', [3856, 23346, 1]],
  // Characters newer than the charsmap: SentencePiece leaves them alone (<unk>), while plain NFKC
  // (what tokenizers.js does) would rewrite them to 令和, C and æ.
  ['Era ㋿ began', [1097, 35, 8, 2, 73, 4865, 1]],
  ['ꟲ and 𐞃', [8, 2, 32, 8, 2, 1]],
  ['ｶﾞ', [8, 2, 1]],
  ['x\u0308\u0301y', [8, 2, 88, 1]],
];

describe('T5Tokenizer on the real t5-small tokenizer.json', () => {
  const tok = T5Tokenizer.fromPath(T5_TOKENIZER_DIR);

  it.each(SPM_IDS)('encodes %j exactly as SentencePiece', (text, ids) => {
    expect(tok.encode(text)).toEqual(ids);
  });

  it("gives the ids of tokenizers.js's own search, with or without remembered words, on real questions", () => {
    // Lines of the so-quality files as they are (quotes, HTML, code, odd Unicode), then again:
    // the second pass finds most words remembered; a small cache also exercises eviction.
    const lines = ['train.csv', 'raw-sample.csv'].flatMap((f) =>
      fs
        .readFileSync(path.join(SHARED_DIR, 'datasets/so-quality', f), 'utf8')
        .split('\n')
        .filter((_, i) => i % 80 === 0),
    );
    const texts = [...SPM_IDS.map(([text]) => text), ...lines, '', ' ', 'a</s>b<extra_id_7>c  d'];
    // The reference: tokenizers.js's own Unigram search, nothing remembered.
    const plain = T5Tokenizer.fromPath(T5_TOKENIZER_DIR, {
      wordCacheSize: 0,
      unigramSearch: 'tokenizers.js',
    });
    const typedOnly = T5Tokenizer.fromPath(T5_TOKENIZER_DIR, { wordCacheSize: 0 });
    const small = T5Tokenizer.fromPath(T5_TOKENIZER_DIR, { wordCacheSize: 64 });
    const expected = texts.map((t) => plain.encode(t));
    for (const pass of [1, 2]) {
      texts.forEach((t, i) => {
        const want = expected[i];
        if (JSON.stringify(tok.encode(t)) !== JSON.stringify(want))
          throw new Error(`pass ${pass}, text ${i}: ${JSON.stringify(t.slice(0, 80))}`);
        expect(small.encode(t)).toEqual(want);
        if (pass === 1) expect(typedOnly.encode(t)).toEqual(want);
      });
    }
    expect(lines.length).toBeGreaterThan(1000);
  });

  it("gives the ids of tokenizers.js's own search with a small trained vocabulary (many <unk>, close scores)", () => {
    const lines = fs
      .readFileSync(path.join(SHARED_DIR, 'datasets/so-quality/raw-sample.csv'), 'utf8')
      .split('\n')
      .filter((_, i) => i % 25 === 0);
    const trained = trainUnigramTokenizer(lines.slice(0, 200), { vocabSize: 300, extraIds: 4 });
    const library = T5Tokenizer.fromJSON(trained.json, trained.config, {
      wordCacheSize: 0,
      unigramSearch: 'tokenizers.js',
    });
    const typed = T5Tokenizer.fromJSON(trained.json, trained.config, { wordCacheSize: 0 });
    let unknown = 0;
    for (const line of lines) {
      const want = library.encode(line);
      expect(typed.encode(line)).toEqual(want);
      unknown += want.filter((id) => id === library.unkTokenId).length;
    }
    expect(unknown).toBeGreaterThan(0);
  });

  it('knows the special ids and vocabulary size', () => {
    expect([tok.padTokenId, tok.eosTokenId, tok.unkTokenId]).toEqual([0, 1, 2]);
    expect(tok.vocabSize).toBe(32100);
    expect(tok.sentinelId(0)).toBe(32099);
    expect(tok.sentinelId(99)).toBe(32000);
    expect(() => tok.sentinelId(100)).toThrow(/no <extra_id_100>/);
  });

  it('follows the HF fast tokenizer where it differs from SentencePiece', () => {
    // SentencePiece strips trailing whitespace; tokenizer.json (Replace + Metaspace) keeps one ▁ (id 8).
    expect(tok.encode('  leading and trailing  ')).toEqual([16398, 32, 334, 211, 132, 8, 1]);
    // Special tokens written in the text are recognised as such (SentencePiece would spell them out).
    expect(tok.encode('<extra_id_0> sentinel </s>')).toEqual([32099, 43, 1569, 4677, 8, 1, 1]);
  });

  it('decodes, skipping special tokens by default', () => {
    expect(tok.decode(tok.encode('Hello world!'))).toBe('Hello world!');
    expect(tok.decode([32099, 435, 8564, 1], { skipSpecialTokens: false })).toBe(
      '<extra_id_0> Hello</s>',
    );
  });

  it('truncates to maxLength keeping eos last, or without eos', () => {
    expect(tok.encode('The quick brown fox', { maxLength: 4 })).toEqual([148, 128, 940, 1]);
    expect(tok.encode('The quick brown fox', { maxLength: 4, addEos: false })).toEqual([
      148, 128, 940, 212,
    ]);
    expect(tok.encode('Hello world!', { addEos: false })).toEqual([435, 8564, 2960, 524]);
  });

  it('has the same pieces, scores and normaliser as spiece.model (parsed with protobufjs)', () => {
    const root = protobuf.parse(`
      syntax = "proto2";
      message SentencePiece { optional string piece = 1; optional float score = 2; optional int32 type = 3; }
      message NormalizerSpec { optional string name = 1; optional bytes precompiled_charsmap = 2; }
      message ModelProto { repeated SentencePiece pieces = 1; optional NormalizerSpec normalizer_spec = 3; }
    `).root;
    const ModelProto = root.lookupType('ModelProto');
    const model = ModelProto.toObject(
      ModelProto.decode(fs.readFileSync(path.join(T5_TOKENIZER_DIR, 'spiece.model'))),
      {
        bytes: String,
      },
    ) as {
      pieces: { piece: string; score: number }[];
      normalizerSpec: { name: string; precompiledCharsmap: string };
    };
    const json = JSON.parse(fs.readFileSync(path.join(T5_TOKENIZER_DIR, 'tokenizer.json'), 'utf8'));
    const vocab = json.model.vocab as [string, number][];
    expect(model.pieces.length).toBe(32000);
    // tokenizer.json = the 32,000 SentencePiece pieces followed by <extra_id_99> … <extra_id_0>.
    expect(vocab.slice(0, 32000).map((v) => v[0])).toEqual(model.pieces.map((p) => p.piece));
    const scoreMismatches = model.pieces.filter(
      (p, i) => Math.abs((p.score ?? 0) - must(vocab[i])[1]) > 1e-5,
    );
    expect(scoreMismatches).toEqual([]);
    expect(vocab.slice(32000).map((v) => v[0])).toEqual(
      Array.from({ length: 100 }, (_, i) => `<extra_id_${99 - i}>`),
    );
    expect(model.normalizerSpec.name).toBe('nmt_nfkc');
    expect(json.normalizer.normalizers[0].precompiled_charsmap).toBe(
      model.normalizerSpec.precompiledCharsmap,
    );
  });

  it('explains a missing tokenizer', () => {
    expect(() => T5Tokenizer.fromPath('/nonexistent/dir')).toThrow(
      /\/nonexistent\/dir not found: pass a directory containing tokenizer.json/,
    );
  });
});
