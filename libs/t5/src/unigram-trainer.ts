// Trains a SentencePiece-style Unigram vocabulary when no pretrained tokenizer is supplied, and
// emits it as a T5 tokenizer.json. No maintained JS trainer exists (tokenizers.js only applies
// tokenizers), so this follows the SentencePiece recipe (Kudo 2018) in simplified form:
//   1. normalise (NFKC, collapse spaces), split into ▁-prefixed words, count them;
//   2. seed with every character (above a coverage threshold) plus the most frequent substrings;
//   3. repeat: Viterbi-segment the corpus with current log-probabilities, re-estimate each piece's
//      probability from its segment count (hard EM), then drop the least-used multi-character
//      pieces (25% each round, SentencePiece's shrinking factor) until the vocabulary has the requested size.
// Hard EM (Viterbi counts) replaces SentencePiece's forward-backward expected counts; it is
// simpler and converges to similar vocabularies on classification-sized corpora.
import { T5Tokenizer } from './tokenizer';

export interface UnigramTrainerOptions {
  /** Total vocabulary size, including <pad>, </s>, <unk> and the sentinels. */
  vocabSize: number;
  /** Number of <extra_id_N> sentinels appended at the end (T5 uses 100). Default 100. */
  extraIds?: number;
  /** Longest piece in characters. Default 16. */
  maxPieceLength?: number;
  /** Characters rarer than this share of all characters map to <unk>. Default 0.9995 coverage. */
  characterCoverage?: number;
  /** EM rounds after the vocabulary reaches its size. Default 2. */
  finalEmRounds?: number;
}

const SPACE = '\u2581';
const SPECIALS = ['<pad>', '</s>', '<unk>'];

/** Same normalisation the emitted tokenizer.json applies, so training sees what encoding will. */
export function normalizeForUnigram(text: string): string {
  return text.normalize('NFKC').replace(/ {2,}/g, ' ');
}

function wordsOf(text: string): string[] {
  const meta = SPACE + normalizeForUnigram(text).replaceAll(' ', SPACE);
  return meta.split(new RegExp(`(?=${SPACE})`)).filter((w) => w.length > 0);
}

interface Segmentation {
  pieces: string[];
  score: number;
}

function viterbi(
  word: string[],
  logp: Map<string, number>,
  maxLen: number,
  unkScore: number,
): Segmentation {
  const n = word.length;
  const best = new Float64Array(n + 1).fill(-Infinity);
  const from = new Int32Array(n + 1);
  best[0] = 0;
  for (let start = 0; start < n; start++) {
    const base = best[start] as number;
    if (base === -Infinity) continue;
    let piece = '';
    for (let end = start + 1; end <= Math.min(n, start + maxLen); end++) {
      piece += word[end - 1] as string;
      let s = logp.get(piece);
      if (s === undefined) {
        if (end !== start + 1) continue;
        s = unkScore;
      }
      if (base + s > (best[end] as number)) {
        best[end] = base + s;
        from[end] = start;
      }
    }
  }
  const pieces: string[] = [];
  for (let end = n; end > 0; end = from[end] as number)
    pieces.push(word.slice(from[end] as number, end).join(''));
  return { pieces: pieces.reverse(), score: best[n] as number };
}

export function trainUnigramTokenizer(
  texts: Iterable<string>,
  options: UnigramTrainerOptions,
): T5Tokenizer {
  const extraIds = options.extraIds ?? 100;
  const maxLen = options.maxPieceLength ?? 16;
  const coverage = options.characterCoverage ?? 0.9995;
  const target = options.vocabSize - SPECIALS.length - extraIds;
  if (target < 1)
    throw new Error(
      `vocabSize ${options.vocabSize} leaves no room for pieces after specials and ${extraIds} sentinels`,
    );

  const wordCounts = new Map<string, number>();
  for (const text of texts)
    for (const w of wordsOf(text)) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
  if (wordCounts.size === 0) throw new Error('cannot train a tokenizer on empty text');
  const words = [...wordCounts.entries()].map(([w, c]) => ({ chars: Array.from(w), count: c }));

  // Characters: keep the most frequent ones covering `coverage` of all occurrences.
  const charCounts = new Map<string, number>();
  for (const { chars, count } of words)
    for (const ch of chars) charCounts.set(ch, (charCounts.get(ch) ?? 0) + count);
  const sortedChars = [...charCounts.entries()].sort(
    (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1),
  );
  const totalChars = sortedChars.reduce((n, [, c]) => n + c, 0);
  const chars = new Set<string>();
  let covered = 0;
  for (const [ch, c] of sortedChars) {
    if (chars.size > 0 && covered / totalChars >= coverage) break;
    chars.add(ch);
    covered += c;
  }
  if (chars.size > target)
    throw new Error(
      `vocabSize ${options.vocabSize} is smaller than the ${chars.size} characters to cover; raise it`,
    );

  // Seed substrings by frequency x length, as SentencePiece ranks its suffix-array candidates.
  const subCounts = new Map<string, number>();
  for (const { chars: w, count } of words) {
    for (let i = 0; i < w.length; i++) {
      let key = w[i] as string;
      if (!chars.has(key)) continue;
      for (let end = i + 1; end < Math.min(w.length, i + maxLen); end++) {
        const ch = w[end] as string;
        if (!chars.has(ch)) break;
        key += ch;
        subCounts.set(key, (subCounts.get(key) ?? 0) + count);
      }
    }
  }
  const seedSize = Math.max(target * 10, 1000);
  const seeds = [...subCounts.entries()]
    .filter(([, c]) => c >= 2)
    .map(([p, c]) => ({ p, c, rank: c * Array.from(p).length }))
    .sort((a, b) => b.rank - a.rank || (a.p < b.p ? -1 : 1))
    .slice(0, seedSize)
    .map(({ p, c }) => [p, c] as [string, number]);

  let logp = new Map<string, number>();
  const init = (counts: Iterable<[string, number]>) => {
    const entries = [...counts].filter(([, c]) => c > 0);
    const total = entries.reduce((n, [, c]) => n + c, 0);
    return new Map(entries.map(([p, c]) => [p, Math.log(c) - Math.log(total)]));
  };
  logp = init([
    ...[...chars].map((ch) => [ch, charCounts.get(ch) ?? 1] as [string, number]),
    ...seeds,
  ]);

  const emStep = (): Map<string, number> => {
    const counts = new Map<string, number>();
    const unkScore = Math.min(...logp.values()) - 10;
    for (const { chars: w, count } of words) {
      for (const p of viterbi(w, logp, maxLen, unkScore).pieces) {
        if (logp.has(p)) counts.set(p, (counts.get(p) ?? 0) + count);
      }
    }
    return counts;
  };

  for (let round = 0; round < 50 && logp.size > target; round++) {
    const counts = emStep();
    // Rank multi-character pieces by Viterbi usage, then by their current probability, so pieces
    // no segmentation chose are dropped first but can still fill the vocabulary on small corpora.
    const multi = [...logp.entries()]
      .filter(([p]) => !chars.has(p))
      .map(([p, lp]) => ({ p, lp, count: counts.get(p) ?? 0 }))
      .sort((a, b) => b.count - a.count || b.lp - a.lp || (a.p < b.p ? -1 : 1));
    const room = target - chars.size;
    const surplus = chars.size + multi.length - target;
    // SentencePiece's shrinking factor: each round keeps 75% of the pieces, never fewer than the target.
    const keep = surplus > 0 ? Math.max(room, Math.floor(multi.length * 0.75)) : multi.length;
    // Unused survivors get half a count: a defined, very low probability.
    const kept = new Map<string, number>(
      multi.slice(0, keep).map(({ p, count }) => [p, count > 0 ? count : 0.5]),
    );
    // Characters stay whatever their count, so every covered character remains encodable.
    for (const ch of chars) kept.set(ch, counts.get(ch) ?? 1);
    logp = init(kept);
  }
  for (let i = 0; i < (options.finalEmRounds ?? 2); i++) {
    const counts = emStep();
    for (const p of logp.keys()) if (!counts.has(p)) counts.set(p, chars.has(p) ? 1 : 0.5);
    logp = init(counts);
  }

  const pieces = [...logp.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const vocab: [string, number][] = [...SPECIALS.map((s) => [s, 0] as [string, number]), ...pieces];
  for (let i = extraIds - 1; i >= 0; i--) vocab.push([`<extra_id_${i}>`, 0]);
  const added = vocab
    .map(([content], id) => ({ content, id }))
    .filter(({ content }) => SPECIALS.includes(content) || /^<extra_id_\d+>$/.test(content))
    .map(({ content, id }) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }));
  return new T5Tokenizer({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFKC' },
        { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' },
      ],
    },
    pre_tokenizer: {
      type: 'Metaspace',
      replacement: SPACE,
      add_prefix_space: true,
      prepend_scheme: 'always',
      split: true,
    },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
      ],
      special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
    },
    decoder: {
      type: 'Metaspace',
      replacement: SPACE,
      add_prefix_space: true,
      prepend_scheme: 'always',
      split: true,
    },
    model: { type: 'Unigram', unk_id: 2, vocab, byte_fallback: false },
  });
}
