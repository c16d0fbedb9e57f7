import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import v8 from 'node:v8';

/**
 * Garbage-collection statistics gathered from perf_hooks 'gc' entries, process-wide: V8 has no
 * cumulative GC counter, so one observer counts from the first time memstats are requested.
 */
interface GcStats {
  numGC: number;
  pauseTotalNs: number;
  lastGCUnixNs: number;
  /** Most recent pauses, newest last (Go keeps 256; a handful is enough to eyeball). */
  recentPauseNs: number[];
  byKind: Record<string, number>;
  since: string;
}

const RECENT_PAUSES = 16;
let gc: GcStats | undefined;

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

export function startGcObserver(): void {
  if (gc) return;
  const stats: GcStats = {
    numGC: 0,
    pauseTotalNs: 0,
    lastGCUnixNs: 0,
    recentPauseNs: [],
    byKind: {},
    since: new Date().toISOString(),
  };
  gc = stats;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) record(stats, entry);
  });
  observer.observe({ entryTypes: ['gc'] });
}

function record(stats: GcStats, entry: PerformanceEntry): void {
  const pauseNs = Math.round(entry.duration * 1e6);
  stats.numGC += 1;
  stats.pauseTotalNs += pauseNs;
  stats.lastGCUnixNs = Math.round(
    (performance.timeOrigin + entry.startTime + entry.duration) * 1e6,
  );
  stats.recentPauseNs.push(pauseNs);
  if (stats.recentPauseNs.length > RECENT_PAUSES) stats.recentPauseNs.shift();
  const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
  const kind = GC_KINDS[detail?.kind ?? -1] ?? 'other';
  stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
}

/**
 * Memory statistics under Go's runtime.MemStats names where a V8 equivalent exists, so that
 * tooling (and people) used to expvar find familiar fields. Go fields with no V8 counterpart
 * (TotalAlloc, HeapObjects, Mallocs, Frees) are omitted rather than faked.
 */
export function memstats(): Record<string, unknown> {
  startGcObserver();
  const mem = process.memoryUsage();
  const heap = v8.getHeapStatistics();
  const stats = gc as GcStats;
  return {
    Alloc: mem.heapUsed,
    Sys: mem.rss,
    HeapAlloc: mem.heapUsed,
    HeapSys: mem.heapTotal,
    HeapInuse: heap.used_heap_size,
    HeapIdle: heap.total_heap_size - heap.used_heap_size,
    HeapLimit: heap.heap_size_limit,
    HeapAvailable: heap.total_available_size,
    ExternalAlloc: mem.external,
    ArrayBuffers: mem.arrayBuffers,
    MallocedMemory: heap.malloced_memory,
    PeakMallocedMemory: heap.peak_malloced_memory,
    NumNativeContexts: heap.number_of_native_contexts,
    NumDetachedContexts: heap.number_of_detached_contexts,
    NumGC: stats.numGC,
    PauseTotalNs: stats.pauseTotalNs,
    PauseNs: [...stats.recentPauseNs],
    LastGC: stats.lastGCUnixNs,
    NumGCByKind: { ...stats.byKind },
    GCCountedSince: stats.since,
  };
}
