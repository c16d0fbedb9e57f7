import type { DestinationStream } from 'pino';

/** A pino destination that keeps every line, parsed, for assertions on what was logged. */
export function captureLogs(): { stream: DestinationStream; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    stream: {
      write(chunk: string) {
        for (const line of chunk.split('\n'))
          if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  };
}
