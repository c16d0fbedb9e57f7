// Learning-rate schedules as functions of the 0-based step.

export type LearningRateSchedule = (step: number) => number;

export interface ScheduleOptions {
  kind: 'constant' | 'linear' | 'inverse-sqrt';
  /** Peak learning rate, reached at the end of warm-up. */
  learningRate: number;
  warmupSteps?: number;
  /** Needed for 'linear' (decays to 0 at this step). */
  totalSteps?: number;
}

export function makeSchedule(options: ScheduleOptions): LearningRateSchedule {
  const { learningRate: peak } = options;
  const warmup = options.warmupSteps ?? 0;
  if (!(peak > 0)) throw new Error(`learningRate must be > 0, got ${peak}`);
  const warm = (step: number): number | undefined =>
    step < warmup ? (peak * (step + 1)) / warmup : undefined;
  switch (options.kind) {
    case 'constant':
      return (step) => warm(step) ?? peak;
    case 'linear': {
      const total = options.totalSteps;
      if (!total || total <= warmup)
        throw new Error(`linear schedule needs totalSteps > warmupSteps (${warmup}), got ${total}`);
      return (step) => warm(step) ?? peak * Math.max(0, (total - step) / (total - warmup));
    }
    case 'inverse-sqrt':
      // T5 pre-training's rsqrt decay, flat until warm-up ends.
      return (step) =>
        warm(step) ?? peak * Math.sqrt(Math.max(warmup, 1) / Math.max(step, warmup, 1));
  }
}
