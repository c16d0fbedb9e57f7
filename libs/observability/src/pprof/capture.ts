import { setTimeout as sleep } from 'node:timers/promises';
import { encode, heap, time } from '@datadog/pprof';
import { Profile, ValueType } from 'pprof-format';

/** The profiles this library serves; `profile` and `heap` mean what they mean in Go. */
export type ProfileKind = 'profile' | 'wall' | 'heap';

export interface RunningProfile {
  /** `other`: V8's profiler was started by something else in the process (a tracer, say). */
  readonly kind: ProfileKind | 'other';
  readonly startedAt: number;
  /** How long it was asked to run (0 for the instant heap profile). */
  readonly seconds: number;
}

export type Acquired =
  | { readonly acquired: true; release(): void }
  | { readonly acquired: false; readonly running: RunningProfile };

export type Capture =
  { readonly outcome: 'completed'; readonly gzipped: Buffer } | { readonly outcome: 'cancelled' };

/** V8 samples at this period (100 Hz, Go's CPU profiling rate). */
export const SAMPLE_INTERVAL_MICROS = 10_000;
/** Average bytes between heap samples: Go's default MemProfileRate, also V8's usual choice. */
export const HEAP_SAMPLING_INTERVAL_BYTES = 512 * 1024;
const HEAP_STACK_DEPTH = 64;

// V8's CPU profiler is one per isolate, and the local stack runs every service in one process
// (each with its own observability instance, possibly from separately bundled copies of this
// library): the lock lives on globalThis under a registry symbol so all of them share it.
const LOCK = Symbol.for('@conveyor/observability/pprof-running');
type LockHolder = { [LOCK]?: RunningProfile };

/** Takes the process-wide profiling slot, or says which profile holds it. */
export function acquireProfiler(kind: ProfileKind, seconds: number): Acquired {
  const holder = globalThis as LockHolder;
  const running = holder[LOCK];
  if (running) return { acquired: false, running };
  if (time.isStarted()) {
    return { acquired: false, running: { kind: 'other', startedAt: Date.now(), seconds: 0 } };
  }
  const mine: RunningProfile = { kind, startedAt: Date.now(), seconds };
  holder[LOCK] = mine;
  return {
    acquired: true,
    release: () => {
      if (holder[LOCK] === mine) delete holder[LOCK];
    },
  };
}

const HEAP_SAMPLING = Symbol.for('@conveyor/observability/heap-sampling');
type HeapSamplingFlag = { [HEAP_SAMPLING]?: true };

/**
 * Starts V8's sampling heap profiler for the life of the process (idempotent). It has to run
 * before the profile is asked for — a heap profile describes objects allocated earlier and still
 * alive — which is why Go samples always too; at one sample per 512 KiB its cost is small
 * (measured in the README).
 */
export function startHeapSampling(): void {
  const holder = globalThis as HeapSamplingFlag;
  if (holder[HEAP_SAMPLING]) return;
  try {
    heap.start(HEAP_SAMPLING_INTERVAL_BYTES, HEAP_STACK_DEPTH);
  } catch (error) {
    // Already started (by this library, or by a tracer with its own settings): keep that one.
    if (!/already started/.test(String(error))) throw error;
  }
  holder[HEAP_SAMPLING] = true;
}

/** Live objects sampled since heap sampling started, as gzipped pprof (like Go's inuse_*). */
export async function captureHeap(): Promise<Capture> {
  startHeapSampling();
  return { outcome: 'completed', gzipped: await encode(heap.profile()) };
}

/**
 * Samples the main thread for `seconds`, or until `signal` aborts (client gone, shutdown).
 * `profile` keeps only the thread CPU time measured between samples (Go's CPU profile);
 * `wall` keeps wall time while the event loop was not idle (a Node-only profile).
 */
export async function captureTime(
  kind: 'profile' | 'wall',
  seconds: number,
  signal: AbortSignal,
): Promise<Capture> {
  const cpu = kind === 'profile';
  time.start({
    intervalMicros: SAMPLE_INTERVAL_MICROS,
    durationMillis: seconds * 1000,
    // Thread CPU time per sample is only collected together with sample contexts.
    withContexts: cpu,
    collectCpuTime: cpu,
  });
  try {
    await sleep(seconds * 1000, undefined, { signal });
  } catch {
    time.stop(false);
    return { outcome: 'cancelled' };
  }
  const profile = time.stop(false);
  return { outcome: 'completed', gzipped: await encode(cpu ? cpuOnly(profile) : profile) };
}

/**
 * The time profiler reports [sample count, wall ns, cpu ns] per stack. A Go CPU profile is CPU
 * time only: wall time and idle samples counted as samples would make idle stacks look hot, so
 * only the cpu column is kept, and stacks that used no CPU are dropped.
 */
export function cpuOnly(profile: Profile): Profile {
  const strings = profile.stringTable;
  const cpuIndex = profile.sampleType.findIndex(
    (t) =>
      strings.strings[Number(t.type)] === 'cpu' &&
      strings.strings[Number(t.unit)] === 'nanoseconds',
  );
  if (cpuIndex < 0) throw new Error('time profile has no cpu sample type (collectCpuTime is off)');
  const cpuType = new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') });
  profile.sampleType = [cpuType];
  profile.sample = profile.sample
    .map((s) => {
      s.value = [s.value[cpuIndex] ?? 0];
      return s;
    })
    .filter((s) => Number(s.value[0]) > 0);
  profile.periodType = cpuType;
  profile.period = SAMPLE_INTERVAL_MICROS * 1000;
  profile.defaultSampleType = 0;
  return profile;
}
