import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FakeKubeApi } from './kube-api';
import { expandReferences, memoryBytes, cpus, type HttpProbe, type PodPlan } from './manifests';
import { containerLogs, containerState, podman, RUN_LABEL, ulimitArgs } from './podman';

export type ProbeKind = 'startup' | 'readiness' | 'liveness';

export interface ProbeRecord {
  readonly kind: ProbeKind;
  readonly ok: boolean;
  readonly detail: string;
  readonly at: number;
}

/** One pod of the check: its container and the kubelet-style probe state. */
export interface Pod {
  readonly plan: PodPlan;
  readonly containerName: string;
  readonly ip: string;
  ready: boolean;
  /** Why the pod is dead (container exited, liveness failed), once it is. */
  failure?: string;
  readonly probes: ProbeRecord[];
  stopProbes(): void;
}

export interface StartOptions {
  readonly runId: string;
  readonly ip: string;
  /** `--add-host` entries: host name → address. */
  readonly hosts: ReadonlyMap<string, string>;
  /** Variables set on top of the manifest's (said in the report). */
  readonly envOverrides: Readonly<Record<string, string>>;
  readonly workDir: string;
  readonly kubeApi?: FakeKubeApi;
  readonly onChange: (pod: Pod) => void;
}

/** One probe attempt, as the kubelet's HTTP prober judges it (200–399 within the timeout). */
export async function probeOnce(
  ip: string,
  probe: HttpProbe,
): Promise<{ ok: boolean; detail: string }> {
  try {
    const res = await fetch(`http://${ip}:${probe.port}${probe.path}`, {
      signal: AbortSignal.timeout(probe.timeoutSeconds * 1000),
      redirect: 'manual',
    });
    await res.arrayBuffer();
    return { ok: res.status >= 200 && res.status < 400, detail: `HTTP ${res.status}` };
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    return { ok: false, detail: e.cause?.code ?? e.name ?? e.message };
  }
}

function materialise(plan: PodPlan, options: StartOptions): string[] {
  const args: string[] = [];
  const podDir = mkdtempSync(path.join(options.workDir, `${plan.deployment}-`));
  for (const [i, m] of plan.mounts.entries()) {
    const dir = path.join(podDir, `${i}-${m.volume}`);
    mkdirSync(dir);
    if (m.source.kind === 'emptyDir') {
      // The kubelet creates emptyDirs world-writable (fsGroup adds group ownership on top).
      chmodSync(dir, 0o777);
      args.push('-v', `${dir}:${m.mountPath}:${m.readOnly ? 'ro' : 'rw'}`);
    } else {
      for (const [file, content] of Object.entries(m.source.files))
        writeFileSync(path.join(dir, file), content, { mode: 0o644 });
      chmodSync(dir, 0o755);
      // ConfigMap and Secret volumes are read-only whatever the mount says.
      args.push('-v', `${dir}:${m.mountPath}:ro`);
    }
  }
  if (plan.serviceAccount && options.kubeApi) {
    const dir = path.join(podDir, 'serviceaccount');
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'token'),
      options.kubeApi.tokenFor(plan.namespace, plan.serviceAccount),
      { mode: 0o644 },
    );
    writeFileSync(path.join(dir, 'ca.crt'), options.kubeApi.caCert, { mode: 0o644 });
    writeFileSync(path.join(dir, 'namespace'), plan.namespace, { mode: 0o644 });
    chmodSync(dir, 0o755);
    args.push('-v', `${dir}:/var/run/secrets/kubernetes.io/serviceaccount:ro`);
  }
  return args;
}

/**
 * Starts one pod's container the way its manifest says (image, command/args, env, user,
 * read-only root, capabilities, no-new-privileges, limits, volumes) on the host network, then
 * runs its readiness and liveness probes on the manifest's schedule until `stopProbes()`.
 */
export async function startPod(plan: PodPlan, options: StartOptions): Promise<Pod> {
  const containerName = `conveyor-check-${options.runId}-${plan.deployment}${
    plan.container === plan.deployment ? '' : `-${plan.container}`
  }`;
  const env: Record<string, string> = { ...plan.env, ...options.envOverrides };
  if (options.kubeApi) {
    // Set by every kubelet, whatever enableServiceLinks says.
    env['KUBERNETES_SERVICE_HOST'] = options.kubeApi.host;
    env['KUBERNETES_SERVICE_PORT'] = String(options.kubeApi.port);
  }
  const args = [
    'run',
    '--detach',
    '--pull=never',
    '--name',
    containerName,
    '--label',
    `${RUN_LABEL}=${options.runId}`,
    '--network',
    'host',
    ...[...options.hosts].flatMap(([name, ip]) => ['--add-host', `${name}:${ip}`]),
    ...ulimitArgs(),
    ...(plan.user ? ['--user', plan.user] : []),
    // podman adds writable tmpfs on /tmp, /run, /var/tmp to --read-only containers; a kubelet does not.
    ...(plan.readOnlyRootFilesystem ? ['--read-only', '--read-only-tmpfs=false'] : []),
    ...(plan.noNewPrivileges ? ['--security-opt', 'no-new-privileges'] : []),
    ...plan.capDrop.flatMap((c) => ['--cap-drop', c]),
    ...plan.capAdd.flatMap((c) => ['--cap-add', c]),
    ...(plan.memoryLimit ? ['--memory', String(memoryBytes(plan.memoryLimit))] : []),
    ...(plan.cpuLimit ? ['--cpus', cpus(plan.cpuLimit)] : []),
    ...materialise(plan, options),
    ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
  ];
  // Kubernetes: `command` replaces the image's ENTRYPOINT (and then its CMD is not used), `args`
  // its CMD; both get $(VAR) expansion from the container's environment.
  const expand = (list: readonly string[]) => list.map((a) => expandReferences(a, env));
  if (plan.command) args.push('--entrypoint', JSON.stringify(expand(plan.command)));
  args.push(plan.image);
  if (plan.args) args.push(...expand(plan.args));
  await podman(args);

  const pod: Pod = {
    plan,
    containerName,
    ip: options.ip,
    ready: false,
    probes: [],
    stopProbes: () => undefined,
  };
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  const schedule = (kind: ProbeKind, probe: HttpProbe, onStarted?: () => void) => {
    let successes = 0;
    let failures = 0;
    const tick = async () => {
      if (stopped || pod.failure) return;
      const state = await containerState(containerName).catch(() => undefined);
      if (!state?.running) {
        pod.failure = `container exited (code ${state?.exitCode ?? '?'}${state?.oomKilled ? ', OOM-killed' : ''})`;
        pod.ready = false;
        options.onChange(pod);
        return;
      }
      const result = await probeOnce(options.ip, probe);
      if (stopped) return;
      pod.probes.push({ kind, ...result, at: Date.now() });
      if (pod.probes.length > 50) pod.probes.shift();
      successes = result.ok ? successes + 1 : 0;
      failures = result.ok ? 0 : failures + 1;
      if (kind === 'startup' && result.ok) {
        onStarted?.();
        return;
      }
      if (kind === 'readiness') {
        const before = pod.ready;
        if (successes >= probe.successThreshold) pod.ready = true;
        if (failures >= probe.failureThreshold) pod.ready = false;
        if (pod.ready !== before) options.onChange(pod);
      } else if (failures >= probe.failureThreshold) {
        pod.failure = `${kind} probe GET ${probe.path} on port ${probe.port} failed ${failures} times in a row, every ${probe.periodSeconds} s (${result.detail}): a kubelet would restart the container`;
        pod.ready = false;
        options.onChange(pod);
        return;
      }
      timers.push(setTimeout(() => void tick(), probe.periodSeconds * 1000));
    };
    timers.push(setTimeout(() => void tick(), probe.initialDelaySeconds * 1000));
  };
  const afterStartup = () => {
    if (plan.readinessProbe) schedule('readiness', plan.readinessProbe);
    else pod.ready = true; // no readiness probe: ready once started, as in Kubernetes
    if (plan.livenessProbe) schedule('liveness', plan.livenessProbe);
  };
  if (plan.startupProbe) schedule('startup', plan.startupProbe, afterStartup);
  else afterStartup();
  pod.stopProbes = () => {
    stopped = true;
    for (const t of timers) clearTimeout(t);
  };
  return pod;
}

/** Waits for readiness; a dead pod or the deadline fails with the container's last log lines. */
export async function waitReady(pod: Pod, deadlineMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (pod.failure) throw new Error(await describeFailure(pod, pod.failure));
    if (pod.ready) return (Date.now() - started) / 1000;
    if (Date.now() - started > deadlineMs)
      throw new Error(
        await describeFailure(pod, `not ready within ${Math.round(deadlineMs / 1000)} s`),
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function describeFailure(pod: Pod, why: string): Promise<string> {
  const probes = pod.probes
    .slice(-6)
    .map((p) => `${p.kind} ${p.ok ? 'ok' : 'failed'} (${p.detail})`)
    .join(', ');
  return [
    `${pod.plan.deployment} (${pod.plan.image}, container ${pod.containerName}): ${why}`,
    `  last probes: ${probes || 'none yet'}`,
    `  last log lines:`,
    ...(await containerLogs(pod.containerName, 40)).split('\n').map((l) => `    ${l}`),
  ].join('\n');
}
