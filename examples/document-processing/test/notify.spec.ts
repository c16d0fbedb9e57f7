import type { StepContext } from '@conveyor/worker-sdk';
import pino from 'pino';
import { notifyFailureHandler } from '../src/handlers/notify';

describe('notify-failure handler', () => {
  it('logs a bounded line for a run whose error quotes a 5 MB input', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const failure = {
      bundle: 'b-1',
      error: { code: 'PAGE_URI_REFUSED', message: `cannot read page 1: ${'x'.repeat(5_000_000)}` },
    };
    const seen: unknown[] = [];
    await notifyFailureHandler(logger, (f) => seen.push(f)).handle({
      input: failure,
    } as StepContext<unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.length).toBeLessThan(4096);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      bundle: 'b-1',
      code: 'PAGE_URI_REFUSED',
      message: expect.stringMatching(/… \(5000020 characters\)$/),
    });
    expect(seen).toEqual([failure]);
  });
});
