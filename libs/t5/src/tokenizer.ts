// T5 SentencePiece-Unigram tokenizers in HuggingFace `tokenizer.json` form, applied by
// @huggingface/tokenizers (pure JS, no downloads). See README for where it can differ from the
// Rust implementation.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { extractPrecompiled, type PrecompiledNormalizer } from './precompiled-normalizer';
import { UnigramSearch } from './unigram-search';

export const TOKENIZER_FILE = 'tokenizer.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';

export interface EncodeOptions {
  /** Append `</s>` (T5 always does for inputs and targets). Default true. */
  addEos?: boolean;
  /** Truncate to at most this many ids; eos, when added, is kept as the last id. */
  maxLength?: number;
}

type TokenizerJson = {
  model?: { type?: string; vocab?: [string, number][]; unk_id?: number };
  added_tokens?: { id: number; content: string; special?: boolean }[];
  truncation?: unknown;
  padding?: unknown;
};

export interface T5TokenizerOptions {
  /**
   * Words whose pieces are remembered (least recently used dropped first); 0 turns it off.
   * Default 65,536 (a few tens of MB at most).
   */
  wordCacheSize?: number;
  /**
   * Which Unigram search finds a word's pieces: this library's restatement over typed arrays
   * (default; same pieces, several times faster) or tokenizers.js's own (for comparison).
   */
  unigramSearch?: 'typed-arrays' | 'tokenizers.js';
}

const DEFAULT_WORD_CACHE_SIZE = 65_536;

/** The parts of tokenizers.js's Unigram model used here; `encode` calls `tokenize` once per word. */
interface WordTokenizingModel {
  tokenize(word: string): string[];
  tokens_to_ids: Map<string, number>;
  scores: number[];
  unk_token_id: number;
  unk_score: number;
}

export class T5Tokenizer {
  readonly json: TokenizerJson;
  readonly config: Record<string, unknown>;
  readonly padTokenId: number;
  readonly eosTokenId: number;
  readonly unkTokenId: number;
  /** Number of ids the tokenizer can produce (pieces plus added tokens beyond them). */
  readonly vocabSize: number;
  private readonly inner: Tokenizer;
  private readonly precompiled: PrecompiledNormalizer | undefined;

  constructor(
    json: Record<string, unknown>,
    config: Record<string, unknown> = {},
    options: T5TokenizerOptions = {},
  ) {
    const j = json as TokenizerJson;
    if (j.model?.type !== 'Unigram' || !Array.isArray(j.model.vocab)) {
      throw new Error(
        `tokenizer.json model type is ${String(j.model?.type)}; T5 tokenizers are Unigram with a vocab list`,
      );
    }
    this.json = j;
    this.config = config;
    // SentencePiece's charsmap is applied here exactly; tokenizers.js gets the remaining steps.
    const { precompiled, rest } = extractPrecompiled((json as { normalizer?: unknown }).normalizer);
    this.precompiled = precompiled;
    // The library would honour a truncation block from the file; truncation here is explicit (maxLength).
    this.inner = new Tokenizer(
      { ...j, normalizer: rest, truncation: null, padding: null },
      { eos_token: '</s>', unk_token: '<unk>', pad_token: '<pad>', ...config },
    );
    const id = (token: string): number => {
      const v = this.inner.token_to_id(token);
      if (v === undefined)
        throw new Error(`tokenizer.json has no "${token}" token, which T5 needs`);
      return v;
    };
    const model = (this.inner as unknown as { model: WordTokenizingModel }).model;
    if ((options.unigramSearch ?? 'typed-arrays') === 'typed-arrays') {
      const search = new UnigramSearch({
        pieces: j.model.vocab.map(([piece]) => piece),
        tokensToIds: model.tokens_to_ids,
        scores: model.scores,
        unkTokenId: model.unk_token_id,
        unkScore: model.unk_score,
      });
      model.tokenize = (word) => search.tokenize(word);
    }
    rememberWords(model, options.wordCacheSize ?? DEFAULT_WORD_CACHE_SIZE);
    this.padTokenId = id('<pad>');
    this.eosTokenId = id('</s>');
    this.unkTokenId = j.model.unk_id ?? id('<unk>');
    const maxAdded = Math.max(-1, ...(j.added_tokens ?? []).map((t) => t.id));
    this.vocabSize = Math.max(j.model.vocab.length, maxAdded + 1);
  }

  static fromJSON(
    json: Record<string, unknown>,
    config: Record<string, unknown> = {},
    options: T5TokenizerOptions = {},
  ): T5Tokenizer {
    return new T5Tokenizer(json, config, options);
  }

  /** Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a directory or a tokenizer.json path. */
  static fromPath(p: string, options: T5TokenizerOptions = {}): T5Tokenizer {
    const isDir = fs.existsSync(p) && fs.statSync(p).isDirectory();
    const file = isDir ? path.join(p, TOKENIZER_FILE) : p;
    if (!fs.existsSync(file)) {
      throw new Error(
        `${file} not found: pass a directory containing ${TOKENIZER_FILE} or the file itself`,
      );
    }
    const configFile = path.join(path.dirname(file), TOKENIZER_CONFIG_FILE);
    const config = fs.existsSync(configFile)
      ? (JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>)
      : {};
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
    }
    return new T5Tokenizer(json, config, options);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const addEos = options.addEos ?? true;
    let ids = this.inner.encode(this.normalize(text), { add_special_tokens: addEos }).ids;
    if (options.maxLength !== undefined && ids.length > options.maxLength) {
      ids = addEos
        ? [...ids.slice(0, Math.max(0, options.maxLength - 1)), this.eosTokenId]
        : ids.slice(0, options.maxLength);
    }
    return ids;
  }

  encodeBatch(texts: string[], options: EncodeOptions = {}): number[][] {
    return texts.map((t) => this.encode(t, options));
  }

  /** The pieces `encode` would produce (without eos). */
  tokenize(text: string): string[] {
    return this.inner.tokenize(this.normalize(text));
  }

  private normalize(text: string): string {
    return this.precompiled ? this.precompiled.normalize(text) : text;
  }

  decode(ids: number[], options: { skipSpecialTokens?: boolean } = {}): string {
    return this.inner.decode(ids, { skip_special_tokens: options.skipSpecialTokens ?? true });
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  /** Id of `<extra_id_{i}>`, the span-corruption sentinel. */
  sentinelId(i: number): number {
    const id = this.tokenToId(`<extra_id_${i}>`);
    if (id === undefined)
      throw new Error(`tokenizer has no <extra_id_${i}> sentinel; train it with extraIds > ${i}`);
    return id;
  }

  /** Writes tokenizer.json and tokenizer_config.json into `dir`. */
  save(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, TOKENIZER_FILE), JSON.stringify(this.json));
    const extra = (this.json.added_tokens ?? []).filter((t) =>
      /^<extra_id_\d+>$/.test(t.content),
    ).length;
    const config = {
      tokenizer_class: 'T5Tokenizer',
      eos_token: '</s>',
      unk_token: '<unk>',
      pad_token: '<pad>',
      extra_ids: extra,
      ...this.config,
    };
    fs.writeFileSync(path.join(dir, TOKENIZER_CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
  }
}

/**
 * tokenizers.js splits the normalised text into words (Metaspace) and finds each word's pieces
 * with a Viterbi search (its own over a lattice of objects, ~50 ms for a 1,400-word question,
 * most of it garbage collection; see unigram-search.ts for the replacement). A word's pieces
 * depend on nothing but the word, so they are remembered: a cached word costs one map lookup,
 * with the same result by construction.
 */
function rememberWords(model: WordTokenizingModel, size: number): void {
  if (size <= 0) return;
  const search = model.tokenize.bind(model);
  const pieces = new Map<string, readonly string[]>();
  model.tokenize = (word: string): string[] => {
    let hit = pieces.get(word);
    if (hit) {
      pieces.delete(word); // re-inserted last: the Map's order is the recency order
    } else {
      hit = Object.freeze(search(word));
      if (pieces.size >= size) pieces.delete(pieces.keys().next().value as string);
    }
    pieces.set(word, hit);
    // The caller spreads the pieces into its own list; frozen, so a mutation would throw.
    return hit as string[];
  };
}
