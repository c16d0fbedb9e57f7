/**
 * Structural tokens of a normalised question: how long it is, how much markup, code, links and
 * numbers it carries, and where its code sits — binned counts written as words (`len:7`,
 * `pre:3`), so the TF-IDF + logistic-regression machinery learns them like any term.
 *
 * Why: word TF-IDF rows are L2-normalised, which throws away length and how many times a tag
 * occurs; a question's shape (a long body with code blocks and links vs. two lines of plain text)
 * is much of what separates the three classes here, and the T5 sees only 256 + 256 tokens of it.
 * On the validation split this member alone scores ~0.72, far below the word model, but it makes
 * different mistakes (docs/benchmarks/classifier.md has the figures).
 */

/**
 * Words whose counts are features. Markup survives normalisation as words (`pre code`, `href`,
 * `img src`, `blockquote`, …); the rest are link and image hosts, edit markers, pleas, and
 * parentheses standing alone.
 */
const COUNTED = [
  'pre', 'code', 'href', 'http', 'https', 'img', 'src', 'alt', 'blockquote', 'strong', 'em',
  'li', 'ul', 'ol', 'h1', 'h2', 'h3', 'br', 'hr', 'rel', 'noreferrer', 'nofollow', 'lt', 'gt',
  'amp', 'quot', 'www', 'com', 'stackoverflow', 'questions', 'imgur', 'png', 'jpg', 'kbd', 'sup',
  'del', 'table', 'td', 'tr', 'div', 'span', 'class', 'id', 'edit', 'update', 'thanks', 'please',
  'help', 'error', '(', ')',
] as const; // prettier-ignore

/** Logarithmic bins (0, 1, 2, 3, 4–5, 6–9, …, capped at 15): counts span 0 to thousands. */
export function logBin(count: number): number {
  return count <= 0 ? 0 : Math.min(15, Math.floor(Math.log2(count + 1) * 1.5));
}

/** Tenths of a ratio, 0–10. */
const tenths = (part: number, whole: number) => Math.floor((10 * part) / Math.max(1, whole));

/**
 * The counts both shape views are written from: these structural tokens and the T5's shape
 * summary (model/t5-input.ts).
 */
export interface TextShape {
  readonly words: readonly string[];
  readonly counts: ReadonlyMap<string, number>;
  /** Parentheses anywhere in the text, standing alone or not. */
  readonly parens: number;
  /** Words that are all digits. */
  readonly digits: number;
  /** Index of the first `pre` word (-1: none); where code starts, after how much prose. */
  readonly firstPre: number;
  /** Words from the last `pre` to the end (-1: none); how far from the end the last block is. */
  readonly fromLastPre: number;
}

export function textShape(text: string): TextShape {
  const words = text.split(' ').filter((w) => w.length > 0);
  const counts = new Map<string, number>();
  for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  const last = words.lastIndexOf('pre');
  return {
    words,
    counts,
    parens: (text.match(/[()]/g) ?? []).length,
    digits: words.filter((w) => /^[0-9]+$/.test(w)).length,
    firstPre: words.indexOf('pre'),
    fromLastPre: last < 0 ? -1 : words.length - last,
  };
}

export function structureTerms(text: string): string[] {
  const { words, counts, parens, digits, firstPre, fromLastPre } = textShape(text);
  const terms = [`len:${logBin(words.length)}`, `chars:${logBin(text.length)}`];
  for (const word of COUNTED) terms.push(`${word}:${logBin(counts.get(word) ?? 0)}`);
  terms.push(`paren:${logBin(parens)}`);
  terms.push(`digits:${logBin(digits)}`, `digitshare:${tenths(digits, words.length)}`);
  terms.push(`shortshare:${tenths(words.filter((w) => w.length <= 2).length, words.length)}`);
  terms.push(`distinctshare:${tenths(counts.size, words.length)}`);
  terms.push(`longest:${logBin(words.reduce((m, w) => Math.max(m, w.length), 0))}`);
  terms.push(`firstpre:${firstPre < 0 ? 'none' : logBin(firstPre)}`);
  terms.push(`lastpre:${fromLastPre < 0 ? 'none' : logBin(fromLastPre)}`);
  return terms;
}
