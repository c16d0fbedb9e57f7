import type { StepResult } from '@conveyor/contracts';
import {
  boundStepError,
  boundStepResult,
  ERROR_MESSAGE_LIMIT,
  formatBytes,
  logField,
  truncateText,
} from '../src/limits';

describe('limits', () => {
  it('formats sizes as people read them', () => {
    expect(formatBytes(300)).toBe('300 bytes');
    expect(formatBytes(512 * 1024)).toBe('512 KiB');
    expect(formatBytes(4 * 1024 * 1024)).toBe('4 MiB');
    expect(formatBytes(1.5 * 1024 * 1024)).toBe('1.5 MiB');
  });

  it('cuts long text and notes its full size, leaving short text alone', () => {
    expect(truncateText('short', 10)).toBe('short');
    expect(truncateText('x'.repeat(20), 10)).toBe(
      `${'x'.repeat(10)}… [truncated: 20 characters in all]`,
    );
  });

  it('bounds a step error message, code and details; a small error is returned as is', () => {
    const small = { message: 'bad page', code: 'BAD', retryable: false, details: { page: 1 } };
    expect(boundStepError(small)).toBe(small);
    const big = boundStepError({
      message: 'm'.repeat(1_000_000),
      code: 'C'.repeat(1000),
      retryable: true,
      details: { input: 'd'.repeat(100_000) },
    });
    expect(big.message.length).toBeLessThan(ERROR_MESSAGE_LIMIT + 100);
    expect(big.message).toMatch(/\[truncated: 1000000 characters in all\]$/);
    expect(big.code?.length).toBeLessThan(300);
    expect(big.retryable).toBe(true);
    expect(big.details).toMatchObject({ truncated: true, characters: 100_012 });
    expect(JSON.stringify(big.details).length).toBeLessThan(2048);
  });

  it('bounds only failed results', () => {
    const common = {
      type: 'workflow.step.result',
      version: 1,
      taskId: 't',
      attempt: 1,
      runId: 'r',
      step: 's',
    } as const;
    const ok: StepResult = { ...common, status: 'succeeded', output: 'o'.repeat(10_000) };
    expect(boundStepResult(ok)).toBe(ok);
    const failed: StepResult = {
      ...common,
      status: 'failed',
      error: { message: 'e'.repeat(10_000), retryable: false },
    };
    const bounded = boundStepResult(failed);
    expect(bounded.status === 'failed' && bounded.error.message.length).toBeLessThan(5000);
  });

  it('makes log fields small', () => {
    expect(logField('x'.repeat(10_000))).toMatch(/\[truncated: 10000 characters in all\]$/);
    expect(logField({ a: 1 })).toEqual({ a: 1 });
    expect(String(logField({ a: 'y'.repeat(10_000) })).length).toBeLessThan(2200);
  });
});
