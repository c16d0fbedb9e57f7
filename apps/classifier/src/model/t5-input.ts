import { logBin, textShape } from '../baseline/structure';

/**
 * The text a T5 encoder is fed for a normalised question: the task prefix, optionally a compact
 * summary of the question's shape, then the question.
 *
 * Why a shape summary: the encoder sees only the first 256 and last 256 tokens, so it cannot
 * tell a 300-token question from a 3,000-token one, nor count code blocks and links in the part
 * it never sees — and on this data set a question's shape separates the classes (the structural
 * member of the shipped ensemble, docs/benchmarks/classifier.md). The summary spells that shape
 * as ~40 short tokens at the start of the window, where the encoder always sees it.
 */
export interface T5InputFormat {
  /** The task prefix, e.g. `quality: `. */
  readonly prefix: string;
  /** Prepend {@link shapeSummary} (trained with it, served with it: stored in classifier.json). */
  readonly shapeSummary: boolean;
}

/**
 * Markup and plea words whose (binned) counts the summary gives, in a fixed order so each sits in
 * the same place in every input; a subset of the structural member's words, chosen to keep the
 * summary short.
 */
const SUMMARY_WORDS = ['pre', 'code', 'href', 'img', 'blockquote', 'strong', 'li', 'edit', 'error', 'thanks'] as const; // prettier-ignore

/**
 * `len 7 pre 3 code 4 href 0 … first 2 last 1 ;` — binned (logarithmic) counts of words and
 * markup, parentheses and digits, and where the first and last code block sit (`-` for none).
 */
export function shapeSummary(text: string): string {
  const { words, counts, parens, digits, firstPre, fromLastPre } = textShape(text);
  const parts = [`len ${logBin(words.length)}`];
  for (const word of SUMMARY_WORDS) parts.push(`${word} ${logBin(counts.get(word) ?? 0)}`);
  parts.push(`paren ${logBin(parens)}`, `digits ${logBin(digits)}`);
  parts.push(`first ${firstPre < 0 ? '-' : logBin(firstPre)}`);
  parts.push(`last ${fromLastPre < 0 ? '-' : logBin(fromLastPre)}`);
  return `${parts.join(' ')} ;`;
}

export function t5InputText(format: T5InputFormat, text: string): string {
  return format.shapeSummary ? `${format.prefix}${shapeSummary(text)} ${text}` : format.prefix + text;
}
