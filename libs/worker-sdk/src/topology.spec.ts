import { stepProgressQueue, stepQueue, stepQueueTypeFromEnv, stepResultsQueue } from './topology';

describe('protocol queue types', () => {
  it('defaults to classic and reads STEP_QUEUE_TYPE', () => {
    expect(stepQueueTypeFromEnv({})).toBe('classic');
    expect(stepQueueTypeFromEnv({ STEP_QUEUE_TYPE: '' })).toBe('classic');
    expect(stepQueueTypeFromEnv({ STEP_QUEUE_TYPE: 'quorum' })).toBe('quorum');
    expect(stepQueueTypeFromEnv({ STEP_QUEUE_TYPE: 'classic' })).toBe('classic');
    expect(() => stepQueueTypeFromEnv({ STEP_QUEUE_TYPE: 'stream' })).toThrow(
      /STEP_QUEUE_TYPE must be quorum or classic, got "stream"/,
    );
  });

  it('gives every protocol queue the requested type, one definition per name and type', () => {
    expect(stepQueue('ocr').queueType).toBe('classic');
    expect(stepQueue('ocr', 'quorum').queueType).toBe('quorum');
    expect(stepQueue('ocr', 'classic')).toBe(stepQueue('ocr'));
    expect(stepQueue('ocr', 'classic')).not.toBe(stepQueue('ocr', 'quorum'));
    expect(stepResultsQueue().queueType).toBe('classic');
    expect(stepResultsQueue('results', 'classic')).toMatchObject({
      name: 'results',
      queueType: 'classic',
      maxAttempts: 10,
    });
    expect(stepProgressQueue(undefined, 'classic')).toMatchObject({
      name: 'conveyor.step-progress',
      queueType: 'classic',
      maxAttempts: 1,
    });
  });
});
