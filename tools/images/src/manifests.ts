import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** One object of the rendered manifests (only the fields this check reads are typed). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export const WORKSPACE_ROOT = path.resolve(__dirname, '../../..');

/**
 * The overlay as `kubectl kustomize` renders it, from the workspace's own renderer (deploy/src,
 * the one `npx nx run deploy:render` uses), at run time: so the check runs what the overlay says
 * now, even before deploy/rendered/ is refreshed.
 */
export function renderOverlay(overlay: string): KubeObject[] {
  const text = execFileSync(
    process.execPath,
    ['--import', 'tsx', path.join(WORKSPACE_ROOT, 'deploy/src/cli.ts'), 'render', overlay],
    { cwd: WORKSPACE_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  return parseManifests(text);
}

export function parseManifests(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object' && 'kind' in o);
}

// ---- the parts of a pod template this check runs -----------------------------------------------

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}
interface EnvFrom {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}
interface ProbeSource {
  httpGet?: { path?: string; port: number | string; scheme?: string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}
interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
}
interface ContainerSource {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: EnvFrom[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  readinessProbe?: ProbeSource;
  livenessProbe?: ProbeSource;
  startupProbe?: ProbeSource;
  resources?: { limits?: { cpu?: string | number; memory?: string | number } };
  securityContext?: SecurityContext;
}
interface VolumeSource {
  name: string;
  emptyDir?: object;
  configMap?: { name: string; items?: { key: string; path: string }[] };
  secret?: { secretName: string; items?: { key: string; path: string }[] };
}
interface PodSpecSource {
  containers: ContainerSource[];
  initContainers?: ContainerSource[];
  volumes?: VolumeSource[];
  securityContext?: SecurityContext & { fsGroup?: number };
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
}

/** A kubelet probe with the defaults Kubernetes applies to fields the manifest leaves out. */
export interface HttpProbe {
  readonly path: string;
  readonly port: number;
  readonly initialDelaySeconds: number;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly failureThreshold: number;
  readonly successThreshold: number;
}

export type MountSource =
  | { readonly kind: 'emptyDir' }
  | { readonly kind: 'files'; readonly from: string; readonly files: Record<string, string> };

export interface Mount {
  readonly mountPath: string;
  readonly readOnly: boolean;
  readonly volume: string;
  readonly source: MountSource;
}

/** What a kubelet would start for one container of one Deployment's pod. */
export interface PodPlan {
  readonly deployment: string;
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly labels: Record<string, string>;
  readonly image: string;
  /** Kubernetes `command` replaces the image's ENTRYPOINT, `args` its CMD. */
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env: Record<string, string>;
  readonly ports: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly user?: string;
  readonly readOnlyRootFilesystem: boolean;
  readonly noNewPrivileges: boolean;
  readonly capDrop: readonly string[];
  readonly capAdd: readonly string[];
  readonly memoryLimit?: string;
  readonly cpuLimit?: string;
  readonly mounts: readonly Mount[];
  /** The pod mounts a service-account token (svc-proxy's Kubernetes access). */
  readonly serviceAccount?: string;
  /** Until it succeeds, the kubelet runs neither readiness nor liveness probes. */
  readonly startupProbe?: HttpProbe;
  readonly readinessProbe?: HttpProbe;
  readonly livenessProbe?: HttpProbe;
}

/** Secret values by Secret name and key (stringData, or data decoded). */
export type SecretValues = ReadonlyMap<string, Readonly<Record<string, string>>>;

export function secretValues(objects: readonly KubeObject[]): Map<string, Record<string, string>> {
  const result = new Map<string, Record<string, string>>();
  for (const o of objects.filter((x) => x.kind === 'Secret')) {
    const data = Object.fromEntries(
      Object.entries((o['data'] ?? {}) as Record<string, string>).map(([k, v]) => [
        k,
        Buffer.from(v, 'base64').toString('utf8'),
      ]),
    );
    result.set(o.metadata.name, {
      ...data,
      ...((o['stringData'] ?? {}) as Record<string, string>),
    });
  }
  return result;
}

const configMaps = (objects: readonly KubeObject[]) =>
  new Map(
    objects
      .filter((o) => o.kind === 'ConfigMap')
      .map((o) => [o.metadata.name, (o['data'] ?? {}) as Record<string, string>]),
  );

/** `$(NAME)` references to earlier variables, as the kubelet expands them; `$$` escapes. */
export function expandReferences(value: string, env: Readonly<Record<string, string>>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name?: string) =>
    match === '$$' ? '$' : name !== undefined && name in env ? (env[name] as string) : match,
  );
}

function resolvePort(container: ContainerSource, port: number | string, where: string): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port)?.containerPort;
  if (named === undefined)
    throw new Error(`${where}: port "${port}" is not a named port of container ${container.name}`);
  return named;
}

function httpProbe(
  container: ContainerSource,
  probe: ProbeSource | undefined,
  where: string,
): HttpProbe | undefined {
  if (!probe) return undefined;
  if (!probe.httpGet)
    throw new Error(`${where}: only httpGet probes are run by this check (the manifests use them)`);
  if ((probe.httpGet.scheme ?? 'HTTP') !== 'HTTP')
    throw new Error(`${where}: only plain HTTP probes are run by this check`);
  return {
    path: probe.httpGet.path ?? '/',
    port: resolvePort(container, probe.httpGet.port, where),
    initialDelaySeconds: probe.initialDelaySeconds ?? 0,
    periodSeconds: probe.periodSeconds ?? 10,
    timeoutSeconds: probe.timeoutSeconds ?? 1,
    failureThreshold: probe.failureThreshold ?? 3,
    successThreshold: probe.successThreshold ?? 1,
  };
}

/**
 * The container's environment as the kubelet builds it: envFrom first (ConfigMaps, Secrets, with
 * their prefix), then env in order with `$(VAR)` expansion; a missing non-optional reference is an
 * error, as it is for a kubelet (CreateContainerConfigError).
 */
export function containerEnv(
  c: ContainerSource,
  objects: readonly KubeObject[],
  secrets: SecretValues,
  pod: { name: string; namespace: string; ip: string },
  where: string,
): Record<string, string> {
  const cms = configMaps(objects);
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const data = from.configMapRef ? cms.get(from.configMapRef.name) : secrets.get(ref?.name ?? '');
    if (!data) {
      if (ref?.optional) continue;
      throw new Error(
        `${where}: envFrom ${from.configMapRef ? 'ConfigMap' : 'Secret'} "${ref?.name}" does not exist`,
      );
    }
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const e of c.env ?? []) {
    const { configMapKeyRef: cm, secretKeyRef: secret, fieldRef: field } = e.valueFrom ?? {};
    let value: string | undefined;
    if (e.value !== undefined) value = expandReferences(e.value, env);
    else if (cm) {
      value = cms.get(cm.name)?.[cm.key];
      if (value === undefined && !cm.optional)
        throw new Error(`${where}: ${e.name} refers to missing ConfigMap key ${cm.name}/${cm.key}`);
    } else if (secret) {
      value = secrets.get(secret.name)?.[secret.key];
      if (value === undefined && !secret.optional)
        throw new Error(
          `${where}: ${e.name} refers to missing Secret key ${secret.name}/${secret.key}`,
        );
    } else if (field) {
      const fields: Record<string, string> = {
        'metadata.namespace': pod.namespace,
        'metadata.name': pod.name,
        'status.podIP': pod.ip,
        'spec.nodeName': 'kubelet-check',
      };
      value = fields[field.fieldPath];
      if (value === undefined)
        throw new Error(`${where}: ${e.name}: fieldRef ${field.fieldPath} is not supported here`);
    } else value = '';
    if (value !== undefined) env[e.name] = value;
  }
  return env;
}

function mountsOf(
  spec: PodSpecSource,
  c: ContainerSource,
  objects: readonly KubeObject[],
  secrets: SecretValues,
  where: string,
): Mount[] {
  const cms = configMaps(objects);
  const pick = (data: Record<string, string>, items?: { key: string; path: string }[]) =>
    items ? Object.fromEntries(items.map((i) => [i.path, data[i.key] ?? ''])) : { ...data };
  return (c.volumeMounts ?? []).map((m) => {
    if (m.subPath) throw new Error(`${where}: volumeMount subPath is not supported by this check`);
    const volume = spec.volumes?.find((v) => v.name === m.name);
    if (!volume) throw new Error(`${where}: volumeMount "${m.name}" names no volume of the pod`);
    let source: MountSource;
    if (volume.emptyDir) source = { kind: 'emptyDir' };
    else if (volume.configMap) {
      const data = cms.get(volume.configMap.name);
      if (!data) throw new Error(`${where}: ConfigMap "${volume.configMap.name}" does not exist`);
      source = {
        kind: 'files',
        from: `ConfigMap/${volume.configMap.name}`,
        files: pick(data, volume.configMap.items),
      };
    } else if (volume.secret) {
      const data = secrets.get(volume.secret.secretName);
      if (!data) throw new Error(`${where}: Secret "${volume.secret.secretName}" does not exist`);
      source = {
        kind: 'files',
        from: `Secret/${volume.secret.secretName}`,
        files: pick(data, volume.secret.items),
      };
    } else {
      throw new Error(
        `${where}: volume "${volume.name}" is of a kind this check cannot provide (emptyDir, configMap, secret)`,
      );
    }
    return { mountPath: m.mountPath, readOnly: m.readOnly ?? false, volume: m.name, source };
  });
}

const quantity = (v: string | number | undefined) => (v === undefined ? undefined : String(v));

/** Kubernetes CPU quantity ("500m", "2") as podman's --cpus. */
export function cpus(q: string): string {
  return q.endsWith('m') ? String(Number(q.slice(0, -1)) / 1000) : q;
}

/** Kubernetes memory quantity ("512Mi", "1G") as podman's --memory (bytes). */
export function memoryBytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) throw new Error(`unsupported memory quantity "${q}"`);
  const unit: Record<string, number> = {
    '': 1,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Math.round(Number(m[1]) * (unit[m[2] ?? ''] ?? 1));
}

/**
 * One plan per container of every Deployment, in manifest order. `podIp` gives each pod its
 * address; Secret values come from `secrets` (the check supplies its own, as prod's are created
 * out of band).
 */
export function podPlans(
  objects: readonly KubeObject[],
  secrets: SecretValues,
  podIp: (deployment: string) => string,
): PodPlan[] {
  const plans: PodPlan[] = [];
  for (const d of objects.filter((o) => o.kind === 'Deployment')) {
    const template = (
      d['spec'] as {
        template: { metadata?: { labels?: Record<string, string> }; spec: PodSpecSource };
      }
    ).template;
    const spec = template.spec;
    const namespace = d.metadata.namespace ?? 'default';
    const pod = `${d.metadata.name}-0`;
    if (spec.initContainers?.length)
      throw new Error(`Deployment/${d.metadata.name}: init containers are not run by this check`);
    for (const c of spec.containers) {
      const where = `Deployment/${d.metadata.name} container ${c.name}`;
      const sc = { ...spec.securityContext, ...c.securityContext };
      const uid = sc.runAsUser;
      const gid = sc.runAsGroup;
      const ip = podIp(d.metadata.name);
      const limits = c.resources?.limits;
      // Kubernetes mounts the token unless told not to, for the "default" account if none is named.
      const automount = spec.automountServiceAccountToken ?? true;
      plans.push({
        deployment: d.metadata.name,
        namespace,
        pod,
        container: c.name,
        labels: template.metadata?.labels ?? {},
        image: c.image,
        ...(c.command ? { command: c.command } : {}),
        ...(c.args ? { args: c.args } : {}),
        env: containerEnv(c, objects, secrets, { name: pod, namespace, ip }, where),
        ports: c.ports ?? [],
        ...(uid !== undefined ? { user: gid !== undefined ? `${uid}:${gid}` : String(uid) } : {}),
        readOnlyRootFilesystem: sc.readOnlyRootFilesystem ?? false,
        noNewPrivileges: sc.allowPrivilegeEscalation === false,
        capDrop: sc.capabilities?.drop ?? [],
        capAdd: sc.capabilities?.add ?? [],
        ...(quantity(limits?.memory) ? { memoryLimit: quantity(limits?.memory) } : {}),
        ...(quantity(limits?.cpu) ? { cpuLimit: quantity(limits?.cpu) } : {}),
        mounts: mountsOf(spec, c, objects, secrets, where),
        ...(automount ? { serviceAccount: spec.serviceAccountName ?? 'default' } : {}),
        ...(c.startupProbe
          ? { startupProbe: httpProbe(c, c.startupProbe, `${where} startupProbe`) }
          : {}),
        ...(c.readinessProbe
          ? { readinessProbe: httpProbe(c, c.readinessProbe, `${where} readinessProbe`) }
          : {}),
        ...(c.livenessProbe
          ? { livenessProbe: httpProbe(c, c.livenessProbe, `${where} livenessProbe`) }
          : {}),
      });
    }
  }
  return plans;
}

/** The image each app is deployed from, by app name (`…/conveyor/<app>:<tag>`). */
export function appImages(objects: readonly KubeObject[]): Map<string, string> {
  const images = new Map<string, string>();
  for (const d of objects.filter((o) => o.kind === 'Deployment')) {
    const spec = (d['spec'] as { template: { spec: PodSpecSource } }).template.spec;
    for (const c of spec.containers) {
      const m = /(?:^|\/)conveyor\/([a-z0-9-]+?)(?::[^/]+)?$/.exec(c.image);
      if (m?.[1]) images.set(m[1], c.image);
    }
  }
  return images;
}
