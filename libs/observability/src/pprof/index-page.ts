import { HEAP_SAMPLING_INTERVAL_BYTES, SAMPLE_INTERVAL_MICROS } from './capture';

const PROFILES: readonly { href: string; name: string; about: string }[] = [
  {
    href: 'profile?seconds=30',
    name: 'profile',
    about:
      `CPU profile: CPU time of the service's JavaScript thread by stack, sampled at ${1_000_000 / SAMPLE_INTERVAL_MICROS} Hz ` +
      '(samples that caught it busy, and the CPU time measured between samples); on the main thread, the CPU of ' +
      'the other threads too, as one "Non JS threads activity" entry. JavaScript in worker threads is not sampled. ' +
      '?seconds= 1 to 120, default 30.',
  },
  {
    href: 'heap',
    name: 'heap',
    about:
      `Heap profile: objects still alive, sampled about once per ${HEAP_SAMPLING_INTERVAL_BYTES / 1024} KiB allocated since ` +
      'the service started, by allocation stack (count and bytes, like Go\u2019s inuse_objects / inuse_space). Instant.',
  },
  {
    href: 'wall?seconds=30',
    name: 'wall',
    about:
      'Node.js only: wall-clock time of the main thread by stack while the event loop was not idle \u2014 also counts ' +
      'time blocked in synchronous calls (readFileSync, a native addon), which the CPU profile misses. ?seconds= as for profile.',
  },
];

/** GET /debug/pprof/: what Go's index page is, for what a Node service can honestly offer. */
export function indexPage(): string {
  const rows = PROFILES.map(
    (p) => `<tr><td><a href="${p.href}">${p.name}</a></td><td>${p.about}</td></tr>`,
  ).join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>/debug/pprof/</title>
<style>body{font-family:sans-serif;max-width:60em}td{padding:.3em .8em;vertical-align:top}code{background:#eee}</style>
</head><body>
<h1>/debug/pprof/</h1>
<p>Profiles in pprof format (gzipped protobuf), read by <code>go tool pprof</code> and its web UI
(<code>go tool pprof -http=: URL</code>).</p>
<table>
${rows}
</table>
<p>One profile runs at a time in a process; a request while another is running is answered 429
with a Retry-After. A profile stops, unsent, when its client goes away.</p>
<p>Go profiles with no Node.js equivalent are not served: goroutine, threadcreate, block, mutex,
allocs (V8 keeps no allocation totals, only the live sample above) and trace.</p>
</body></html>
`;
}
