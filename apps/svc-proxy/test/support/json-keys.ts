/**
 * The keys that appear more than once in one JSON object of `text`, as dotted paths
 * (`service`, `target.pod`, `items[2].name`). JSON.parse cannot tell: it keeps the last value
 * and drops the rest silently, which is how a log line with two `service` keys passed tests
 * while log pipelines that reject or merge duplicates broke on it.
 */
export function duplicateKeys(text: string): string[] {
  JSON.parse(text); // valid JSON first: the scanner below relies on it
  const found: string[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text.charAt(i))) i++;
  };
  const readString = (): string => {
    const start = i;
    i++;
    while (text.charAt(i) !== '"') i += text.charAt(i) === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const readValue = (path: string): void => {
    skipSpace();
    const c = text.charAt(i);
    if (c === '{') {
      i++;
      skipSpace();
      if (text.charAt(i) === '}') {
        i++;
        return;
      }
      const keys = new Set<string>();
      for (;;) {
        skipSpace();
        const key = readString();
        const at = path ? `${path}.${key}` : key;
        if (keys.has(key)) found.push(at);
        keys.add(key);
        skipSpace();
        i++; // ':'
        readValue(at);
        skipSpace();
        if (text.charAt(i++) === '}') return; // otherwise ','
      }
    }
    if (c === '[') {
      i++;
      skipSpace();
      if (text.charAt(i) === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        readValue(`${path}[${n}]`);
        skipSpace();
        if (text.charAt(i++) === ']') return; // otherwise ','
      }
    }
    if (c === '"') {
      readString();
      return;
    }
    // A number, true, false or null.
    while (i < text.length && !/[\s,\]}]/.test(text.charAt(i))) i++;
  };
  readValue('');
  return found;
}
