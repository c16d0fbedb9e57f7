import { isRecord, type KubeObject } from '../kustomize/resource';
import { parseImage } from '../kustomize/transformers';
import { adminContainerProblems, ingressAdminProblems, serviceAdminProblems } from './admin-port';
import { containerPort } from './references';
import {
  allContainers,
  selectorMatches,
  workloadsOf,
  type Container,
  type Workload,
} from './workloads';

/** Every Conveyor service listens here in Kubernetes (PORT); its debug pages are on ADMIN_PORT. */
export const APP_PORT = 8080;
export { ADMIN_PORT, ADMIN_PORT_NAME, ENDPOINT_PORT_ANNOTATION } from './admin-port';

/** The Conveyor image a container runs ("conveyor/<app>" or "conveyor/<app>-gpu"), if any. */
export function conveyorApp(image: string | undefined): string | undefined {
  if (!image) return undefined;
  const m = /(?:^|\/)conveyor\/([a-z0-9-]+?)(-gpu)?$/.exec(parseImage(image).name);
  return m?.[1];
}

/**
 * The environment a container would see, with ConfigMap values resolved (Secrets and downward
 * API fields are resolved by `resolveSecret`/the pod's namespace when given).
 */
export function containerEnv(
  c: Container,
  objects: readonly KubeObject[],
  resolveSecret: (name: string, key: string) => string | undefined = () => undefined,
  namespace?: string,
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  const configMap = (name: string) =>
    objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name)?.['data'] as
      Record<string, string> | undefined;
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, configMap(from.configMapRef.name) ?? {});
  }
  for (const e of c.env ?? []) {
    const cm = e.valueFrom?.['configMapKeyRef'];
    const secret = e.valueFrom?.['secretKeyRef'];
    const field = e.valueFrom?.['fieldRef'];
    if (e.value !== undefined) env[e.name] = e.value;
    else if (cm) env[e.name] = configMap(String(cm['name']))?.[String(cm['key'])];
    else if (secret) env[e.name] = resolveSecret(String(secret['name']), String(secret['key']));
    else if (field && field['fieldPath'] === 'metadata.namespace') env[e.name] = namespace;
    else env[e.name] = undefined;
  }
  return env;
}

export interface ConventionOptions {
  /** Is dist/apps/<app>/<script> something build-app.mjs produces? */
  readonly entryPointExists: (app: string, script: string) => boolean;
}

/** Conveyor's deployment rules (security, probes, ports, autoscaling, discovery by svc-proxy). */
export function conventionProblems(
  objects: readonly KubeObject[],
  options: ConventionOptions,
): string[] {
  const problems: string[] = [];
  const workloads = workloadsOf(objects);
  const where = (w: Workload) => `${w.object.kind}/${w.object.metadata.name}`;
  const services = objects.filter((o) => o.kind === 'Service');

  for (const w of workloads) {
    const podSecurity = w.podSpec.securityContext ?? {};
    for (const c of allContainers(w.podSpec)) {
      const sc = c.securityContext ?? {};
      const at = `${where(w)} container ${c.name}`;
      if (sc['runAsNonRoot'] !== true && podSecurity['runAsNonRoot'] !== true)
        problems.push(`${at}: must set runAsNonRoot: true`);
      const uid = (sc['runAsUser'] ?? podSecurity['runAsUser']) as number | undefined;
      if (uid === undefined || uid === 0)
        problems.push(
          `${at}: needs a numeric non-zero runAsUser (runAsNonRoot cannot verify a named user)`,
        );
      if (sc['readOnlyRootFilesystem'] !== true)
        problems.push(
          `${at}: must set readOnlyRootFilesystem: true (mount an emptyDir where it writes)`,
        );
      if (sc['allowPrivilegeEscalation'] !== false)
        problems.push(`${at}: must set allowPrivilegeEscalation: false`);
      const drop = (isRecord(sc['capabilities']) ? sc['capabilities']['drop'] : undefined) as
        string[] | undefined;
      if (!drop?.includes('ALL')) problems.push(`${at}: must drop ALL capabilities`);
      for (const kind of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) {
          if (c.resources?.[kind]?.[resource] === undefined)
            problems.push(`${at}: no ${resource} ${kind}`);
        }
      }
      const image = c.image ? parseImage(c.image) : undefined;
      if (!image || (!image.digest && (!image.tag || image.tag === 'latest'))) {
        problems.push(
          `${at}: image ${JSON.stringify(c.image)} must be pinned to a version tag or digest (never latest)`,
        );
      }
    }
    if (!w.podSpec.securityContext?.['seccompProfile'])
      problems.push(`${where(w)}: set a seccompProfile (RuntimeDefault)`);

    const appContainers = w.podSpec.containers.filter((c) => conveyorApp(c.image));
    if (appContainers.length === 0) continue;
    for (const c of appContainers) problems.push(...appContainerProblems(w, c, objects, options));
    const matching = services.filter((s) =>
      selectorMatches((s['spec'] as { selector?: unknown }).selector, w.podLabels),
    );
    if (matching.length === 0)
      problems.push(`${where(w)}: no Service selects it, so svc-proxy cannot list its debug pages`);
    for (const svc of matching) {
      problems.push(...serviceAdminProblems(svc, appContainers, (c) => containerEnv(c, objects)));
      const ports =
        (svc['spec'] as { ports?: { port: number; targetPort?: number | string }[] }).ports ?? [];
      const reachesApp = ports.some((port) =>
        appContainers.some((c) => containerPort(c, port.targetPort ?? port.port) === APP_PORT),
      );
      if (!reachesApp)
        problems.push(`Service/${svc.metadata.name}: no port reaches the app port ${APP_PORT}`);
    }
    if (
      !objects.some(
        (o) =>
          o.kind === 'PodDisruptionBudget' &&
          selectorMatches((o['spec'] as { selector?: unknown }).selector, w.podLabels),
      )
    ) {
      problems.push(`${where(w)}: no PodDisruptionBudget covers it`);
    }
    if (/worker/.test(w.podLabels['app.kubernetes.io/component'] ?? '')) {
      const hpa = objects.find(
        (o) =>
          o.kind === 'HorizontalPodAutoscaler' &&
          (o['spec'] as { scaleTargetRef: { name: string } }).scaleTargetRef.name ===
            w.object.metadata.name,
      );
      if (!hpa) problems.push(`${where(w)}: worker without a HorizontalPodAutoscaler`);
    }
    if (
      w.podSpec.serviceAccountName === undefined &&
      w.podSpec.automountServiceAccountToken !== false
    ) {
      problems.push(`${where(w)}: uses no API: set automountServiceAccountToken: false`);
    }
  }
  problems.push(...svcProxyRbacProblems(objects));
  problems.push(...ingressAdminProblems(objects, workloads));
  return problems;
}

function appContainerProblems(
  w: Workload,
  c: Container,
  objects: readonly KubeObject[],
  options: ConventionOptions,
): string[] {
  const problems: string[] = [];
  const at = `${w.object.kind}/${w.object.metadata.name} container ${c.name}`;
  const env = containerEnv(c, objects);
  if (env['PORT'] !== String(APP_PORT))
    problems.push(`${at}: PORT is ${JSON.stringify(env['PORT'])}, must be "${APP_PORT}"`);
  if (env['HOST'] !== '0.0.0.0')
    problems.push(
      `${at}: HOST is ${JSON.stringify(env['HOST'])}, must be "0.0.0.0" in a container`,
    );
  if (containerPort(c, 'http') !== APP_PORT)
    problems.push(`${at}: must declare containerPort ${APP_PORT} named "http"`);
  // The startup probe holds liveness back while a model loads (a kubelet would otherwise restart
  // a slow starter on a busy node: the images check saw it with six pods starting at once).
  const probes = [
    ['readinessProbe', c.readinessProbe, '/readyz'],
    ['livenessProbe', c.livenessProbe, '/healthz'],
    ['startupProbe', c.startupProbe, '/healthz'],
  ] as const;
  for (const [name, probe, path] of probes) {
    if (probe?.httpGet?.path !== path)
      problems.push(`${at}: ${name} must be an HTTP GET of ${path}`);
    else if (containerPort(c, probe.httpGet.port) !== APP_PORT)
      problems.push(`${at}: ${name} must target port ${APP_PORT}`);
  }
  problems.push(...adminContainerProblems(w, c, env));
  if (!(c.volumeMounts ?? []).some((m) => m.mountPath === '/tmp' && !m.readOnly)) {
    problems.push(`${at}: mount a writable emptyDir at /tmp (the root filesystem is read-only)`);
  }
  const app = conveyorApp(c.image) as string;
  const script =
    [...(c.command ?? []), ...(c.args ?? [])].find((a) => a.endsWith('.js')) ??
    `dist/apps/${app}/main.js`;
  if (!script.endsWith('/main.js') && c.command?.[0] !== 'node') {
    problems.push(
      `${at}: runs ${script} through args only; set command: [node, ...] so it does not depend on the image's ENTRYPOINT`,
    );
  }
  const m = /^dist\/apps\/([a-z0-9-]+)\/([a-z0-9-]+\.js)$/.exec(script);
  if (!m || m[1] !== app)
    problems.push(
      `${at}: runs ${script}, which is not a bundle of the ${app} image (dist/apps/${app}/<entry>.js)`,
    );
  else if (!options.entryPointExists(app, m[2] as string)) {
    problems.push(
      `${at}: runs ${script}, but apps/${app}/src/${(m[2] as string).replace(/\.js$/, '.ts')} is not an entry point build-app.mjs bundles`,
    );
  }
  return problems;
}

const ALLOWED_SVC_PROXY_RULES = new Set(['/services', 'discovery.k8s.io/endpointslices']);

/** svc-proxy may read Services and EndpointSlices, nothing else, and only through its own account. */
function svcProxyRbacProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  const bindings = objects.filter(
    (o) =>
      (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') &&
      ((o['subjects'] ?? []) as { kind: string; name: string }[]).some(
        (s) => s.kind === 'ServiceAccount' && s.name === 'svc-proxy',
      ),
  );
  if (
    objects.some((o) => o.kind === 'Deployment' && o.metadata.name === 'svc-proxy') &&
    bindings.length === 0
  ) {
    problems.push(
      'svc-proxy: its ServiceAccount has no RoleBinding, so it cannot discover Services',
    );
  }
  for (const binding of bindings) {
    const ref = binding['roleRef'] as { kind: string; name: string };
    const role = objects.find((o) => o.kind === ref.kind && o.metadata.name === ref.name);
    for (const rule of (role?.['rules'] ?? []) as {
      apiGroups?: string[];
      resources?: string[];
      verbs?: string[];
    }[]) {
      for (const group of rule.apiGroups ?? []) {
        for (const resource of rule.resources ?? []) {
          if (!ALLOWED_SVC_PROXY_RULES.has(`${group}/${resource}`))
            problems.push(
              `${ref.kind}/${ref.name}: svc-proxy must not get access to ${group || 'core'}/${resource}`,
            );
        }
      }
      const extra = (rule.verbs ?? []).filter((v) => !['get', 'list', 'watch'].includes(v));
      if (extra.length)
        problems.push(
          `${ref.kind}/${ref.name}: svc-proxy needs only get/list/watch, not ${extra.join(', ')}`,
        );
    }
  }
  return problems;
}
