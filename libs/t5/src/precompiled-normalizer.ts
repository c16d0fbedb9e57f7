// SentencePiece's compiled normalisation rules (the `precompiled_charsmap` of a tokenizer.json
// "Precompiled" normaliser, nmt_nfkc for T5), applied exactly as the Rust `spm_precompiled`
// crate used by HF tokenizers does. tokenizers.js approximates this map with Unicode NFKC,
// which differs for characters newer than the map (e.g. U+32FF, U+A7F2, the U+107xx modifier
// letters): there the map leaves the character alone and SentencePiece emits <unk>.
//
// Blob layout: u32 LE byte size of a Darts-clone double-array trie, the trie's u32 LE units,
// then NUL-terminated replacement strings; a trie value is the replacement's byte offset.

export class PrecompiledNormalizer {
  private readonly units: Uint32Array;
  private readonly replacements: Uint8Array;
  private readonly segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  private readonly decoder = new TextDecoder();
  private readonly encoder = new TextEncoder();

  constructor(base64Charsmap: string) {
    const blob = Buffer.from(base64Charsmap, 'base64');
    if (blob.length < 4) throw new Error('precompiled_charsmap is too short to hold a trie');
    const trieSize = blob.readUInt32LE(0);
    if (trieSize % 4 !== 0 || 4 + trieSize > blob.length) {
      throw new Error(
        `precompiled_charsmap declares a ${trieSize}-byte trie in a ${blob.length}-byte blob`,
      );
    }
    this.units = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = blob.readUInt32LE(4 + i * 4);
    this.replacements = new Uint8Array(blob.subarray(4 + trieSize));
  }

  /** Offset of the shortest trie key that prefixes `key`, as Darts' commonPrefixSearch()[0]. */
  private firstPrefixValue(key: Uint8Array): number | undefined {
    const u = this.units;
    const offset = (unit: number) => (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
    let pos = offset(u[0] as number);
    for (const c of key) {
      if (c === 0) return undefined;
      pos ^= c;
      const unit = u[pos] as number;
      if ((unit & 0x800000ff) !== c) return undefined;
      pos ^= offset(unit);
      if ((unit >>> 8) & 1) return (u[pos] as number) & 0x7fffffff;
    }
    return undefined;
  }

  private transform(chunk: string): string | undefined {
    const start = this.firstPrefixValue(this.encoder.encode(chunk));
    if (start === undefined) return undefined;
    let end = start;
    while (end < this.replacements.length && this.replacements[end] !== 0) end++;
    return this.decoder.decode(this.replacements.subarray(start, end));
  }

  /** Whole grapheme clusters under 6 UTF-8 bytes are looked up first, then each character. */
  normalize(text: string): string {
    let out = '';
    for (const window of graphemeSafeWindows(text)) {
      for (const { segment } of this.segmenter.segment(window)) {
        if (segment.length === 1 && segment.charCodeAt(0) < 0x80) {
          out += this.transformAscii(segment);
          continue;
        }
        if (this.encoder.encode(segment).length < 6) {
          const whole = this.transform(segment);
          if (whole !== undefined) {
            out += whole;
            continue;
          }
        }
        for (const ch of segment) out += this.transform(ch) ?? ch;
      }
    }
    return out;
  }

  private readonly asciiCache = new Map<string, string>();

  private transformAscii(ch: string): string {
    let v = this.asciiCache.get(ch);
    if (v === undefined) {
      v = this.transform(ch) ?? ch;
      this.asciiCache.set(ch, v);
    }
    return v;
  }
}

const WINDOW = 256;

/**
 * Cuts text into pieces of about WINDOW code units at positions that are always grapheme
 * boundaries (between two ASCII characters other than CR LF), because Intl.Segmenter slows
 * down sharply on very long strings.
 */
function* graphemeSafeWindows(text: string): Generator<string> {
  let start = 0;
  while (text.length - start > WINDOW) {
    let cut = start + WINDOW;
    while (cut < text.length) {
      const prev = text.charCodeAt(cut - 1);
      const next = text.charCodeAt(cut);
      if (prev < 0x80 && next < 0x80 && !(prev === 13 && next === 10)) break;
      cut++;
    }
    yield text.slice(start, cut);
    start = cut;
  }
  if (start < text.length) yield text.slice(start);
}

interface NormalizerJson {
  type?: string;
  normalizers?: NormalizerJson[];
  precompiled_charsmap?: string | null;
}

/**
 * Splits a tokenizer.json normaliser into an exact Precompiled step (applied by us, first) and
 * the rest (left to tokenizers.js). Only a leading Precompiled step is taken over, so the order
 * of operations is unchanged.
 */
export function extractPrecompiled(normalizer: unknown): {
  precompiled?: PrecompiledNormalizer;
  rest: unknown;
} {
  const n = normalizer as NormalizerJson | null | undefined;
  if (n?.type === 'Precompiled' && n.precompiled_charsmap) {
    return { precompiled: new PrecompiledNormalizer(n.precompiled_charsmap), rest: null };
  }
  const first = n?.type === 'Sequence' ? n.normalizers?.[0] : undefined;
  if (n && first?.type === 'Precompiled' && first.precompiled_charsmap) {
    return {
      precompiled: new PrecompiledNormalizer(first.precompiled_charsmap),
      rest: { ...n, normalizers: (n.normalizers ?? []).slice(1) },
    };
  }
  return { rest: normalizer };
}
