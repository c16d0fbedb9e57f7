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
 * The time profiler reports [sample count, wall ns, cpu ns] per stack. A Go CPU profile is
 * [samples/count, cpu/nanoseconds]: `samples` keeps V8's samples that caught the thread busy
 * (idle ones would make the event loop's wait look hot); `cpu` is the thread CPU time measured
 * between two samples, charged to the stack of the second, so work that starts and finishes
 * between samples (< 10 ms) shows under "(idle)" there; `-sample_index=samples` attributes by
 * busy samples instead. The wall column is dropped (the wall profile has it).
 */
export function cpuOnly(profile: Profile): Profile {
  const strings = profile.stringTable;
  const column = (type: string, unit: string) =>
    profile.sampleType.findIndex(
      (t) => strings.strings[Number(t.type)] === type && strings.strings[Number(t.unit)] === unit,
    );
  const cpuIndex = column('cpu', 'nanoseconds');
  const countIndex = column('sample', 'count');
  if (cpuIndex < 0 || countIndex < 0)
    throw new Error('time profile lacks sample counts or cpu time (collectCpuTime is off)');
  const idleFunctions = new Set(
    profile.function.filter((f) => strings.strings[Number(f.name)] === '(idle)').map((f) => f.id),
  );
  const idleLocations = new Set(
    profile.location
      .filter((l) => l.line.some((line) => idleFunctions.has(line.functionId)))
      .map((l) => l.id),
  );
  const samplesType = new ValueType({
    type: strings.dedup('samples'),
    unit: strings.dedup('count'),
  });
  const cpuType = new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') });
  profile.sampleType = [samplesType, cpuType];
  profile.sample = profile.sample
    .map((s) => {
      const leaf = s.locationId[0];
      const busy = leaf === undefined || !idleLocations.has(leaf);
      s.value = [busy ? (s.value[countIndex] ?? 0) : 0, s.value[cpuIndex] ?? 0];
      return s;
    })
    .filter((s) => s.value.some((v) => Number(v) > 0));
  profile.periodType = cpuType;
  profile.period = SAMPLE_INTERVAL_MICROS * 1000;
  profile.defaultSampleType = 0;
  return profile;
}
