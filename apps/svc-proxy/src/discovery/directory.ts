import {
  CoreV1Api,
  DiscoveryV1Api,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
  type V1EndpointSlice,
  type V1Service,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { FeedStatus, TargetSource } from './source';
import { resolveTargets, type Target, type TargetProblem } from './targets';

export interface DirectoryOptions {
  /** Empty: all namespaces (one cluster-wide watch per resource). */
  readonly namespaces: readonly string[];
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
}

/** The state of one informer, for readiness and /debug/vars. */
export type InformerStatus = FeedStatus;

type AnyInformer = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

interface Supervised {
  readonly name: string;
  readonly informer: AnyInformer;
  status: InformerStatus;
  listedOnce: boolean;
  /** Consecutive failures, for the backoff; reset once a list or a watch succeeds. */
  failures: number;
  /** All failures ever, to tell whether a (re)start attempt failed. */
  errors: number;
  timer?: NodeJS.Timeout;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const status =
      (error as { statusCode?: number; code?: number | string }).statusCode ??
      (error as { code?: unknown }).code;
    return status !== undefined ? `${error.message} (${String(status)})` : error.message;
  }
  return String(error);
}

/**
 * The live set of reachable pods, from client-node informers on Services and EndpointSlices.
 * client-node's ListWatch relists by itself after 410 Gone but stops for good on any other
 * error; this class restarts it with capped exponential backoff and jitter.
 */
export class Directory implements TargetSource {
  private readonly informers: Supervised[] = [];
  private readonly listeners = new Set<(targets: readonly Target[]) => void>();
  private targets: readonly Target[] = [];
  private index = new Map<string, Target>();
  private problems: readonly TargetProblem[] = [];
  private recomputeQueued = false;
  private stopped = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly options: DirectoryOptions,
    private readonly logger: Logger,
  ) {
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const scopes: (string | undefined)[] =
      options.namespaces.length > 0 ? [...options.namespaces] : [undefined];
    for (const ns of scopes) {
      this.add(
        `services${ns ? `/${ns}` : ''}`,
        ns ? `/api/v1/namespaces/${ns}/services` : '/api/v1/services',
        () =>
          ns ? core.listNamespacedService({ namespace: ns }) : core.listServiceForAllNamespaces(),
      );
      this.add(
        `endpointslices${ns ? `/${ns}` : ''}`,
        ns
          ? `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`
          : '/apis/discovery.k8s.io/v1/endpointslices',
        () =>
          ns
            ? discovery.listNamespacedEndpointSlice({ namespace: ns })
            : discovery.listEndpointSliceForAllNamespaces(),
      );
    }
  }

  private add<T extends KubernetesObject>(
    name: string,
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
  ): void {
    const entry: Supervised = {
      name,
      informer: undefined as unknown as AnyInformer,
      status: { phase: 'starting' },
      listedOnce: false,
      failures: 0,
      errors: 0,
    };
    const listFn = async () => {
      const result = await list();
      // A completed list is the proof of a healthy connection: reset the backoff.
      entry.listedOnce = true;
      entry.failures = 0;
      entry.status = { phase: 'synced', since: new Date().toISOString() };
      this.logger.debug({ informer: name, items: result.items.length }, 'informer listed');
      return result;
    };
    const informer = makeInformer(this.kc, path, listFn) as unknown as AnyInformer;
    (entry as { informer: AnyInformer }).informer = informer;
    informer.on('add', () => this.queueRecompute());
    informer.on('update', () => this.queueRecompute());
    informer.on('delete', () => this.queueRecompute());
    informer.on('error', (error?: unknown) => this.restartLater(entry, error));
    this.informers.push(entry);
  }

  private restartLater(entry: Supervised, error: unknown): void {
    if (this.stopped) return;
    entry.errors += 1;
    entry.failures += 1;
    const exp = Math.min(
      this.options.backoff.maxMs,
      this.options.backoff.initialMs * 2 ** (entry.failures - 1),
    );
    const retryInMs = Math.round(exp / 2 + (Math.random() * exp) / 2);
    entry.status = {
      phase: 'backing-off',
      error: describe(error),
      retryInMs,
      failures: entry.failures,
    };
    this.logger.warn(
      { informer: entry.name, err: describe(error), retryInMs, failures: entry.failures },
      'informer stopped; restarting',
    );
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      if (!this.stopped) void this.startOne(entry);
    }, retryInMs);
    entry.timer.unref();
  }

  private queueRecompute(): void {
    if (this.recomputeQueued) return;
    this.recomputeQueued = true;
    // Batches the burst of callbacks a relist produces into one recomputation.
    setImmediate(() => {
      this.recomputeQueued = false;
      this.recompute();
    });
  }

  private recompute(): void {
    const services: V1Service[] = [];
    const slices: V1EndpointSlice[] = [];
    for (const { name, informer } of this.informers) {
      if (name.startsWith('services')) services.push(...(informer.list() as V1Service[]));
      else slices.push(...(informer.list() as V1EndpointSlice[]));
    }
    const { targets, problems } = resolveTargets(services, slices);
    const before = this.targets;
    this.targets = targets;
    this.index = new Map(targets.map((t) => [`${t.namespace}/${t.service}/${t.pod}`, t]));
    const newProblems = problems.filter(
      (p) =>
        !this.problems.some(
          (q) => q.namespace === p.namespace && q.service === p.service && q.problem === p.problem,
        ),
    );
    // `target`, not the problem's flat `service`: the logger's own `service` key is on every line.
    for (const p of newProblems)
      this.logger.warn(
        { target: { namespace: p.namespace, service: p.service }, problem: p.problem },
        'annotated service cannot be proxied',
      );
    this.problems = problems;
    if (JSON.stringify(before) !== JSON.stringify(targets)) {
      this.logger.info({ targets: targets.length }, 'targets changed');
      for (const listener of this.listeners) listener(targets);
    }
  }

  /**
   * client-node's start() resolves once the watch request has been answered, and reports a
   * failed list or watch through the error callback before that; so an attempt during which no
   * error was reported has a live watch, even when it resumed without relisting.
   */
  private async startOne(entry: Supervised): Promise<void> {
    const errorsBefore = entry.errors;
    try {
      await entry.informer.start();
    } catch (error) {
      this.restartLater(entry, error);
      return;
    }
    if (entry.errors === errorsBefore && !this.stopped && entry.status.phase !== 'synced') {
      entry.failures = 0;
      entry.status = { phase: 'synced', since: new Date().toISOString() };
      this.logger.info({ informer: entry.name }, 'informer watching again');
    }
  }

  async start(): Promise<void> {
    this.stopped = false;
    await Promise.all(this.informers.map((entry) => this.startOne(entry)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.informers) {
      clearTimeout(entry.timer);
      entry.status = { phase: 'stopped' };
      await entry.informer.stop();
    }
  }

  /** Ready once every informer has completed a list (cached data may then be served). */
  get synced(): boolean {
    return this.informers.every((i) => i.listedOnce);
  }

  /**
   * Synced, and no informer is backing off after an error: while one is, its cache may be stale
   * (pods gone, new ones missing), so the replica should not receive traffic if another can.
   */
  get healthy(): boolean {
    return this.synced && this.informers.every((i) => i.status.phase !== 'backing-off');
  }

  status(): Record<string, InformerStatus> {
    return Object.fromEntries(this.informers.map((i) => [i.name, i.status]));
  }

  list(): readonly Target[] {
    return this.targets;
  }

  currentProblems(): readonly TargetProblem[] {
    return this.problems;
  }

  /** The only way a proxied request finds an upstream address. */
  find(namespace: string, service: string, pod: string): Target | undefined {
    return this.index.get(`${namespace}/${service}/${pod}`);
  }

  subscribe(listener: (targets: readonly Target[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
