import { Parser } from 'htmlparser2';
import { STOP_WORDS } from './stopwords';

/**
 * The model is trained on train.csv, whose authors lower-cased the text, kept only letters,
 * digits and parentheses, and removed stop words. Everything the model sees (raw Kaggle rows,
 * the other preprocessed file, HTTP and AMQP requests) goes through this same function so the
 * input distribution at serving time matches training.
 */
export function normalizeText(text: string): string {
  const words = text
    .toLowerCase()
    .replace(/[^a-z0-9()]+/g, ' ')
    .split(' ')
    .filter((word) => word.length > 0 && !STOP_WORDS.has(word));
  return words.join(' ');
}

/**
 * Turns a Stack Overflow HTML body into text the way train.csv was made: element names,
 * attribute names and values stay as words (train.csv has "pre code … code pre", "href http …",
 * "rel noreferrer"), because markup is informative — questions edited by the community were
 * mostly posted without it. `<p>` is the exception: train.csv never contains the word "p".
 * Entities stay encoded ("&lt;" → "lt"), as in train.csv.
 */
export function htmlToText(html: string): string {
  const parts: string[] = [];
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (name !== 'p') parts.push(name);
        for (const [key, value] of Object.entries(attributes)) parts.push(key, value);
      },
      ontext(text) {
        parts.push(text);
      },
      onclosetag(name, isImplied) {
        if (name !== 'p' && !isImplied) parts.push(name);
      },
    },
    { decodeEntities: false, lowerCaseTags: true },
  );
  parser.write(html);
  parser.end();
  return parts.join(' ');
}

/** What the model reads for a question: the title first (so it survives truncation), then the body. */
export function questionText(title: string, body: string, bodyFormat: 'html' | 'text'): string {
  const bodyText = bodyFormat === 'html' ? htmlToText(body) : body;
  return normalizeText(`${title} ${bodyText}`);
}
