/* eslint-disable @typescript-eslint/no-explicit-any -- tests reach deep into manifest trees */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { KubeObject } from '../src/kustomize';
import { renderOverlay } from '../src/overlays';
import { DEPLOY_DIR } from '../src/paths';
import {
  CONSUMED_QUEUE_VARIABLE,
  containerEnv,
  externalSecretsFrom,
  kedaProblems,
  schemaProblems,
  secretTemplates,
  workloadsOf,
} from '../src/validate';
import { runLoader } from './support/run-app-config';

// The KEDA overlay: every worker Deployment scaled on the depth of the queue it really consumes.
const objects = renderOverlay('keda');
const external = externalSecretsFrom(secretTemplates(DEPLOY_DIR));
const scaledObjects = objects.filter((o) => o.kind === 'ScaledObject') as (KubeObject & {
  spec: any;
})[];
const clone = () => JSON.parse(JSON.stringify(objects)) as (KubeObject & { spec: any })[];
const named = (list: KubeObject[], kind: string, name: string) =>
  list.find((o) => o.kind === kind && o.metadata.name === name) as KubeObject & { spec: any };

jest.setTimeout(120_000);

it('scales every worker Deployment, and nothing else, on its queue', () => {
  const workers = workloadsOf(objects)
    .filter((w) => w.podSpec.containers.some((c) => c.command?.some((a) => /worker\.js$/.test(a))))
    .map((w) => w.object.metadata.name)
    .sort();
  expect(scaledObjects.map((s) => s.spec.scaleTargetRef.name).sort()).toEqual(workers);
  expect(workers).toEqual(['checkers-engine', 'classifier-worker']);
  for (const so of scaledObjects)
    expect(so.spec.triggers.map((t: { type: string }) => t.type)).toEqual(['rabbitmq', 'cpu']);
});

it('the overlay passes the KEDA checks and the KEDA CRD schemas', () => {
  expect(kedaProblems(objects, external)).toEqual([]);
  const keda = objects.filter((o) => o.apiVersion === 'keda.sh/v1alpha1');
  expect(keda.map((o) => o.kind).sort()).toEqual([
    'ScaledObject',
    'ScaledObject',
    'TriggerAuthentication',
  ]);
  expect(keda.flatMap(schemaProblems)).toEqual([]);
});

it.each(scaledObjects.map((so) => [so.metadata.name, so] as const))(
  '%s watches the queue its worker consumes, by the app’s own config loader',
  (_name, so) => {
    const target = workloadsOf(objects).find(
      (w) => w.object.metadata.name === so.spec.scaleTargetRef.name,
    );
    const container = target?.podSpec.containers[0];
    if (!container) throw new Error('no target container');
    const entry = container.command?.find((a) => a.startsWith('dist/apps/'))?.slice(10) as string;
    const loader =
      entry === 'classifier/worker.js'
        ? {
            module: 'apps/classifier/src/config.ts',
            exportName: 'loadConfig',
            field: 'CLASSIFY_QUEUE',
          }
        : {
            module: 'apps/checkers/src/config.ts',
            exportName: 'loadWorkerConfig',
            field: 'requestQueue',
          };
    expect(Object.keys(CONSUMED_QUEUE_VARIABLE)).toContain(entry);
    const env = Object.fromEntries(
      Object.entries(
        containerEnv(container, objects, (name, key) =>
          name === 'conveyor-rabbitmq' && key === 'url' ? 'amqp://u:p@rabbitmq:5672' : undefined,
        ),
      ).filter((kv): kv is [string, string] => kv[1] !== undefined),
    );
    const outcome = runLoader(loader.module, loader.exportName, env);
    expect(outcome).toMatchObject({ ok: true });
    expect(outcome.result?.[loader.field]).toBe(so.spec.triggers[0].metadata.queueName);
  },
);

it('the classifier workers’ queue is one the workflows may name (queues.yaml)', () => {
  const catalog = parse(
    readFileSync(path.join(DEPLOY_DIR, 'base/orchestrator/workflows/queues.yaml'), 'utf8'),
  ) as { queues: Record<string, unknown> };
  const so = named(objects, 'ScaledObject', 'classifier-worker');
  expect(Object.keys(catalog.queues)).toContain(so.spec.triggers[0].metadata.queueName);
});

describe('the checks fail on what a cluster would get wrong', () => {
  it('a ScaledObject watching another queue than its worker consumes', () => {
    const list = clone();
    named(list, 'ScaledObject', 'classifier-worker').spec.triggers[0].metadata.queueName =
      'classifiy';
    expect(kedaProblems(list, external)).toEqual([
      expect.stringMatching(/watches queue "classifiy" but classifier-worker consumes "classify"/),
    ]);
  });

  it('a worker left on its default queue name (not set in the shared ConfigMap)', () => {
    const list = clone();
    delete (named(list, 'ConfigMap', 'conveyor-config') as any).data.ENGINE_REQUEST_QUEUE;
    expect(kedaProblems(list, external)).toEqual([
      expect.stringMatching(/set ENGINE_REQUEST_QUEUE in the target's environment/),
    ]);
  });

  it('a second autoscaler on the same Deployment, not handed over to KEDA', () => {
    const list = clone();
    const so = named(list, 'ScaledObject', 'checkers-engine');
    delete so.metadata.annotations?.['scaledobject.keda.sh/transfer-hpa-ownership'];
    expect(kedaProblems(list, external)).toEqual([
      expect.stringMatching(/HorizontalPodAutoscaler\/checkers-engine also scales/),
    ]);
  });

  it('a TriggerAuthentication or Secret key that does not exist, a target that does not exist', () => {
    const list = clone();
    named(list, 'ScaledObject', 'classifier-worker').spec.scaleTargetRef.name = 'classifier-wrker';
    named(list, 'TriggerAuthentication', 'conveyor-rabbitmq').spec.secretTargetRef[0].key = 'uri';
    expect(kedaProblems(list, external)).toEqual([
      expect.stringMatching(/Secret conveyor-rabbitmq has no key uri/),
      expect.stringMatching(/scales Deployment\/classifier-wrker, which is not in the overlay/),
    ]);
    const withoutAuth = clone().filter((o) => o.kind !== 'TriggerAuthentication');
    expect(kedaProblems(withoutAuth, external)).toEqual([
      expect.stringMatching(/TriggerAuthentication\/conveyor-rabbitmq is not in the overlay/),
      expect.stringMatching(/TriggerAuthentication\/conveyor-rabbitmq is not in the overlay/),
    ]);
  });

  it('a ScaledObject that does not match the KEDA CRD schema', () => {
    const so = named(clone(), 'ScaledObject', 'classifier-worker');
    so.spec.triggers = { type: 'rabbitmq' };
    delete so.spec.scaleTargetRef;
    expect(schemaProblems(so)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/required property 'scaleTargetRef'|scaleTargetRef/),
        expect.stringMatching(/triggers/),
      ]),
    );
  });
});
