import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { FeedStatus, TargetSource } from './source';
import { LABEL_RE, SUBDOMAIN_RE, type Target, type TargetProblem } from './targets';

const label = (what: string) =>
  z.string({ error: `${what} is required` }).regex(LABEL_RE, {
    error: `${what} must be a DNS label (lower-case letters, digits and "-", at most 63)`,
  });

const PodSchema = z.strictObject({
  name: z
    .string({ error: 'name is required' })
    .regex(SUBDOMAIN_RE, { error: 'name must be a DNS subdomain, as Kubernetes pod names are' }),
  ip: z.string({ error: 'ip is required' }).refine((v) => isIP(v) !== 0, {
    error:
      'ip must be an IPv4 or IPv6 address (no host names: the proxy never resolves names from its input)',
  }),
  node: z.string().min(1).optional(),
  ready: z.boolean({ error: 'ready must be true or false' }).default(true),
});

const EndpointSchema = z.strictObject({
  namespace: label('namespace'),
  service: label('service'),
  port: z
    .number({ error: 'port must be a number' })
    .int()
    .min(1, { error: 'port must be from 1 to 65535' })
    .max(65535, { error: 'port must be from 1 to 65535' }),
  pods: z.array(PodSchema, { error: 'pods must be a list of { name, ip, node?, ready? }' }),
});

const FileSchema = z.strictObject({
  endpoints: z.array(EndpointSchema, {
    error: 'endpoints must be a list of { namespace, service, port, pods }',
  }),
});

export type StaticEndpointsFile = z.input<typeof FileSchema>;

export class StaticEndpointsError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(
      `STATIC_ENDPOINTS_FILE ${file} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nExpected YAML or JSON: { endpoints: [ { namespace, service, port, pods: [ { name, ip, node?, ready? } ] } ] }',
    );
    this.name = 'StaticEndpointsError';
  }
}

const pathOf = (path: readonly PropertyKey[]): string =>
  path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('') || '(top level)';

/**
 * Parses and validates a static endpoints document into targets, the same shape the informers
 * produce: only ready pods are listed, sorted like resolveTargets sorts them.
 */
export function parseStaticEndpoints(text: string, file: string): Target[] {
  let document: unknown;
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both.
    document = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    throw new StaticEndpointsError(file, [`not valid YAML or JSON: ${(error as Error).message}`]);
  }
  const parsed = FileSchema.safeParse(document);
  if (!parsed.success) {
    throw new StaticEndpointsError(
      file,
      parsed.error.issues.map((i) => `${pathOf(i.path)}: ${i.message}`),
    );
  }
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const targets: Target[] = [];
  parsed.data.endpoints.forEach((endpoint, e) => {
    endpoint.pods.forEach((pod, p) => {
      const key = `${endpoint.namespace}/${endpoint.service}/${pod.name}`;
      const where = `endpoints[${e}].pods[${p}]`;
      const first = seen.get(key);
      if (first) {
        problems.push(
          `${where}: pod ${key} is already listed at ${first}; each namespace/service/pod must be unique`,
        );
        return;
      }
      seen.set(key, where);
      if (!pod.ready) return;
      targets.push({
        namespace: endpoint.namespace,
        service: endpoint.service,
        pod: pod.name,
        ip: pod.ip,
        port: endpoint.port,
        ...(pod.node ? { node: pod.node } : {}),
        ready: true,
      });
    });
  });
  if (problems.length > 0) throw new StaticEndpointsError(file, problems);
  return targets.sort(
    (a, b) =>
      a.namespace.localeCompare(b.namespace) ||
      a.service.localeCompare(b.service) ||
      a.pod.localeCompare(b.pod),
  );
}

/** Reads the file; a missing or unreadable file is an error naming the variable to fix. */
export function loadStaticEndpoints(file: string): Target[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new StaticEndpointsError(file, [
      `cannot be read: ${(error as Error).message}; point STATIC_ENDPOINTS_FILE at an existing file`,
    ]);
  }
  return parseStaticEndpoints(text, file);
}

/**
 * Discovery from a file, for machines without a Kubernetes API (the local stack). Validated
 * once, at construction, so a bad file stops the proxy at start-up rather than at first use.
 */
export class StaticDirectory implements TargetSource {
  private readonly targets: readonly Target[];
  private readonly index: ReadonlyMap<string, Target>;
  private feed: FeedStatus = { phase: 'starting' };

  constructor(readonly file: string) {
    this.targets = loadStaticEndpoints(file);
    this.index = new Map(this.targets.map((t) => [`${t.namespace}/${t.service}/${t.pod}`, t]));
  }

  get synced(): boolean {
    return this.feed.phase === 'synced';
  }

  get healthy(): boolean {
    return this.synced;
  }

  async start(): Promise<void> {
    this.feed = { phase: 'synced', since: new Date().toISOString() };
  }

  async stop(): Promise<void> {
    this.feed = { phase: 'stopped' };
  }

  status(): Record<string, FeedStatus> {
    return { [`static:${this.file}`]: this.feed };
  }

  list(): readonly Target[] {
    return this.targets;
  }

  currentProblems(): readonly TargetProblem[] {
    return [];
  }

  find(namespace: string, service: string, pod: string): Target | undefined {
    return this.index.get(`${namespace}/${service}/${pod}`);
  }

  subscribe(_listener: (targets: readonly Target[]) => void): () => void {
    // The file is read once; the set never changes, so there is nothing to announce.
    return () => undefined;
  }
}
