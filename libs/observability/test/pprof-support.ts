import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import express from 'express';
import { Profile } from 'pprof-format';
import { createLogger, createObservability, type ObservabilityOptions } from '../src';
import { captureLogs } from './helpers';

/** A decoded pprof profile, reduced to what the tests check: value per function name. */
export interface DecodedProfile {
  readonly sampleTypes: string[];
  /** Sum of the last (default) sample type over every sample whose stack holds the function. */
  readonly valueByFunction: Map<string, number>;
  /** The same for the first sample type. */
  readonly firstValueByFunction: Map<string, number>;
  /** Sum of the last sample type over every sample. */
  readonly total: number;
}

export function decodePprof(gzipped: Buffer): DecodedProfile {
  const profile = Profile.decode(gunzipSync(gzipped));
  const str = (i: number | bigint) => profile.stringTable.strings[Number(i)] ?? '';
  const functionName = new Map(profile.function.map((f) => [String(f.id), str(f.name)]));
  const locationFunctions = new Map(
    profile.location.map((l) => [
      String(l.id),
      l.line.map((line) => functionName.get(String(line.functionId)) ?? ''),
    ]),
  );
  const valueByFunction = new Map<string, number>();
  const firstValueByFunction = new Map<string, number>();
  const last = profile.sampleType.length - 1;
  let total = 0;
  for (const sample of profile.sample) {
    total += Number(sample.value[last] ?? 0);
    const names = new Set(
      sample.locationId.flatMap((id) => locationFunctions.get(String(id)) ?? []),
    );
    for (const name of names) {
      valueByFunction.set(name, (valueByFunction.get(name) ?? 0) + Number(sample.value[last] ?? 0));
      firstValueByFunction.set(
        name,
        (firstValueByFunction.get(name) ?? 0) + Number(sample.value[0] ?? 0),
      );
    }
  }
  return {
    sampleTypes: profile.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`),
    valueByFunction,
    firstValueByFunction,
    total,
  };
}

/**
 * The share of a profile's value spent spinning. It is counted under spinUntil, not under
 * spinForPprofTest alone: once TurboFan has inlined the slice into its hot caller (after an
 * earlier test spun for seconds), a profiler started later sees the caller only — three wall
 * profiles in a row named spinUntil and not spinForPprofTest.
 */
export function spinShare(profile: DecodedProfile): number {
  return profile.total > 0 ? (profile.valueByFunction.get('spinUntil') ?? 0) / profile.total : 0;
}

/** What a profile spent its time on, for a failure message. */
export function topFunctions(profile: DecodedProfile, count = 8): string {
  const entries = [...profile.valueByFunction.entries()].sort((a, b) => b[1] - a[1]);
  return (
    entries
      .slice(0, count)
      .map(([name, value]) => `${name} ${((100 * value) / (profile.total || 1)).toFixed(0)} %`)
      .join(', ') || 'no samples'
  );
}

/** Burns CPU for `ms` of wall time; its name is what the CPU and wall profiles must show. */
export function spinForPprofTest(ms: number): number {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x += Math.sqrt(x + 1);
  return x;
}

/**
 * Runs spinForPprofTest in 100 ms slices until `done` settles, leaving the event loop room
 * between slices (the profile's own timer and its HTTP answer run in this process). Spinning for
 * the whole profile, not a fixed count of slices: on a loaded machine the sampler thread may get
 * a core only now and then, and a short spin could fall between its samples.
 */
export async function spinUntil<T>(done: Promise<T>): Promise<T> {
  let settled = false;
  const watched = done.finally(() => (settled = true));
  while (!settled) {
    spinForPprofTest(100);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return watched;
}

export async function startProfiledService(options: Partial<ObservabilityOptions> = {}) {
  const logs = captureLogs();
  const logger = createLogger('pprof-svc', {
    destination: logs.stream,
    env: { LOG_LEVEL: 'info' },
  });
  const obs = createObservability({
    service: 'pprof-svc',
    logger,
    handleSignals: false,
    ...options,
  });
  const app = express();
  obs.mount(app);
  app.get('/hello', (_req, res) => {
    res.json({ hello: 'world' });
  });
  // An app fallback like the ones real services have (SPA index, error page).
  app.use((_req, res) => {
    res.status(200).type('text/plain').send('app fallback');
  });
  const server = await obs.listen(app, 0);
  const urlOf = (address: AddressInfo) => `http://127.0.0.1:${address.port}`;
  return {
    obs,
    logs,
    url: urlOf(server.address() as AddressInfo),
    adminUrl: obs.adminServer ? urlOf(obs.adminServer.address() as AddressInfo) : undefined,
  };
}

export async function fetchBuffer(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}
