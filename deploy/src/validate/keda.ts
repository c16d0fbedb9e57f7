import { isRecord, type KubeObject } from '../kustomize/resource';
import { containerEnv } from './conventions';
import type { ExternalObjects } from './references';
import { allContainers, workloadsOf } from './workloads';

/**
 * The queue each worker entry point consumes, by the variable that names it. A ScaledObject must
 * watch the queue its target really consumes, and both must read one value: the variable has to
 * be set in the rendered environment (the shared ConfigMap), not left to the app's default.
 */
export const CONSUMED_QUEUE_VARIABLE: Readonly<Record<string, string>> = {
  'classifier/worker.js': 'CLASSIFY_QUEUE',
  'checkers/engine-worker.js': 'ENGINE_REQUEST_QUEUE',
};

export const TRANSFER_HPA_ANNOTATION = 'scaledobject.keda.sh/transfer-hpa-ownership';

const get = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((here, key) => (isRecord(here) ? here[key] : undefined), value);

/** `classifier/worker.js` for `node … dist/apps/classifier/worker.js`, if the command says. */
function entryPoint(command: readonly string[] | undefined): string | undefined {
  const script = command?.find((arg) => arg.startsWith('dist/apps/'));
  return script?.slice('dist/apps/'.length);
}

/**
 * KEDA resources (keda.sh/v1alpha1) checked against the rest of the overlay: a ScaledObject scales
 * a workload that exists, authenticates with a TriggerAuthentication whose Secret keys exist,
 * watches the queue its target consumes, and does not fight a second autoscaler (an HPA on the
 * same target must be handed over to KEDA by name).
 */
export function kedaProblems(objects: readonly KubeObject[], external: ExternalObjects): string[] {
  const problems: string[] = [];
  const scaledObjects = objects.filter(
    (o) => o.apiVersion === 'keda.sh/v1alpha1' && o.kind === 'ScaledObject',
  );
  if (scaledObjects.length === 0) return problems;
  const workloads = workloadsOf(objects);
  const secretKeys = (name: string): ReadonlySet<string> | undefined => {
    const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === name);
    if (!secret) return external.secrets.get(name);
    return new Set([
      ...Object.keys((secret['data'] as object) ?? {}),
      ...Object.keys((secret['stringData'] as object) ?? {}),
    ]);
  };

  for (const so of scaledObjects) {
    const at = `ScaledObject/${so.metadata.name}`;
    const targetKind = String(get(so, 'spec', 'scaleTargetRef', 'kind') ?? 'Deployment');
    const targetName = String(get(so, 'spec', 'scaleTargetRef', 'name'));
    const target = workloads.find(
      (w) => w.object.kind === targetKind && w.object.metadata.name === targetName,
    );
    if (!target) {
      problems.push(`${at}: scales ${targetKind}/${targetName}, which is not in the overlay`);
      continue;
    }

    const hpas = objects.filter(
      (o) =>
        o.kind === 'HorizontalPodAutoscaler' &&
        get(o, 'spec', 'scaleTargetRef', 'kind') === targetKind &&
        get(o, 'spec', 'scaleTargetRef', 'name') === targetName,
    );
    const adopted = get(so, 'spec', 'advanced', 'horizontalPodAutoscalerConfig', 'name');
    for (const hpa of hpas) {
      if (
        adopted !== hpa.metadata.name ||
        so.metadata.annotations?.[TRANSFER_HPA_ANNOTATION] !== 'true'
      )
        problems.push(
          `${at}: HorizontalPodAutoscaler/${hpa.metadata.name} also scales ${targetKind}/${targetName}; ` +
            `hand it to KEDA (annotation ${TRANSFER_HPA_ANNOTATION}: "true" and ` +
            `spec.advanced.horizontalPodAutoscalerConfig.name: ${hpa.metadata.name}) or remove it`,
        );
    }

    const triggers = (get(so, 'spec', 'triggers') ?? []) as Record<string, unknown>[];
    for (const [i, trigger] of triggers.entries()) {
      const tat = `${at} trigger ${i} (${String(trigger['type'])})`;
      const authName = get(trigger, 'authenticationRef', 'name');
      if (authName !== undefined) {
        const authKind = String(
          get(trigger, 'authenticationRef', 'kind') ?? 'TriggerAuthentication',
        );
        const auth = objects.find(
          (o) =>
            o.apiVersion === 'keda.sh/v1alpha1' &&
            o.kind === authKind &&
            o.metadata.name === authName,
        );
        if (!auth) problems.push(`${tat}: ${authKind}/${String(authName)} is not in the overlay`);
        for (const ref of (get(auth, 'spec', 'secretTargetRef') ?? []) as Record<
          string,
          string
        >[]) {
          const keys = secretKeys(ref['name'] ?? '');
          if (!keys)
            problems.push(`${authKind}/${String(authName)}: Secret ${ref['name']} does not exist`);
          else if (!keys.has(ref['key'] ?? ''))
            problems.push(
              `${authKind}/${String(authName)}: Secret ${ref['name']} has no key ${ref['key']}`,
            );
        }
      }
      if (trigger['type'] !== 'rabbitmq') continue;
      const metadata = (trigger['metadata'] ?? {}) as Record<string, string>;
      if (metadata['protocol'] !== 'http' && metadata['mode'] === 'MessageRate')
        problems.push(
          `${tat}: mode MessageRate needs protocol http (the management API); use QueueLength over amqp`,
        );
      const queue = metadata['queueName'];
      const consumed = allContainers(target.podSpec).flatMap((c) => {
        const script = entryPoint(c.command);
        const variable = script ? CONSUMED_QUEUE_VARIABLE[script] : undefined;
        if (!variable) return [];
        return [{ variable, value: containerEnv(c, objects)[variable] }];
      });
      if (consumed.length === 0) {
        problems.push(
          `${tat}: ${targetKind}/${targetName} runs no worker whose queue is known (${Object.keys(CONSUMED_QUEUE_VARIABLE).join(', ')})`,
        );
        continue;
      }
      for (const { variable, value } of consumed) {
        if (value === undefined)
          problems.push(
            `${tat}: set ${variable} in the target's environment (the shared ConfigMap) so the worker and the ScaledObject read one queue name`,
          );
        else if (value !== queue)
          problems.push(
            `${tat}: watches queue "${queue}" but ${targetName} consumes "${value}" (${variable})`,
          );
      }
    }
  }
  return problems;
}
