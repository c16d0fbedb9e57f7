// Reading JSONL game logs: bad lines are reported with their line number, never skipped silently.
import { readFileSync } from 'node:fs';
import { parseRecord, type GameRecord } from '@conveyor/draughts-learning';

export function readGameLog(file: string, limit = Infinity): GameRecord[] {
  const out: GameRecord[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length && out.length < limit; i++) {
    const line = lines[i];
    if (!line) continue;
    const parsed = parseRecord(line);
    // The last line may be cut short while a run is still appending; anything else is an error.
    if (!parsed.ok) {
      if (i >= lines.length - 2) break;
      throw new Error(`${file}:${i + 1}: ${parsed.error}`);
    }
    out.push(parsed.record);
  }
  return out;
}
