import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  checkersEngineMove,
  classifyQuestionsRun,
  documentProcessingRun,
  signInAndReadDebugVars,
} from './e2e';
import { deadWorker, startExampleWorkers, stopHostWorkers, type HostWorker } from './host-workers';
import { startDevIdentityProvider, type DevIdentityProvider } from '@conveyor/local-stack';
import { startFakeKubeApi, type FakeKubeApi } from './kube-api';
import { checkSecrets, createRunInfra, type RunInfra } from './infra';
import { hostAliases, withExampleWorkflows } from './stand-ins';
import { podPlans, renderOverlay, secretValues } from './manifests';
import { imageExists, removeLabelledContainers } from './podman';
import { describeFailure, startPod, waitReady, type Pod } from './pods';

export interface RunOptions {
  readonly overlay: string;
  /** Pods get 127.0.<podSubnet>.1, .2, … (one loopback address each, like pod IPs). */
  readonly podSubnet: number;
  readonly readyDeadlineMs: number;
  /** Leave the containers of a failed run for inspection (`podman logs`, `podman inspect`). */
  readonly keepOnFailure?: boolean;
  readonly log: (line: string) => void;
}

export interface RunReport {
  readonly lines: string[];
}

/**
 * Runs every Deployment of the overlay from its image as the rendered manifests say, on the host
 * network against this machine's RabbitMQ and PostgreSQL, probes them as a kubelet would, runs the
 * end-to-end checks through the containers, and removes everything it made.
 */
export async function runManifests(options: RunOptions): Promise<RunReport> {
  const { log } = options;
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    log(line);
  };
  const objects = renderOverlay(options.overlay);
  const runId = randomBytes(3).toString('hex');
  const deployments = objects.filter((o) => o.kind === 'Deployment').map((d) => d.metadata.name);
  const podIp = (deployment: string) =>
    `127.0.${options.podSubnet}.${deployments.indexOf(deployment) + 1}`;

  let infra: RunInfra | undefined;
  let kubeApi: FakeKubeApi | undefined;
  let idp: DevIdentityProvider | undefined;
  let workers: HostWorker[] = [];
  const pods: Pod[] = [];
  const workDir = mkdtempSync(path.join(tmpdir(), 'conveyor-images-'));
  let failed = true;
  try {
    infra = await createRunInfra(runId);
    const secrets = await checkSecrets(secretValues(objects), infra);
    let plans = podPlans(objects, secrets, podIp);
    for (const image of new Set(plans.map((p) => p.image)))
      if (!(await imageExists(image)))
        throw new Error(
          `image ${image} is not built: run \`npx nx run images:build-images\` first`,
        );
    plans = plans.map((p) => (p.env['WORKFLOWS_DIR'] ? withExampleWorkflows(p) : p));

    const proxy = plans.find((p) => p.env['PUBLIC_URL'] && p.env['GOOGLE_CLIENT_ID'] !== undefined);
    const allowed = (proxy?.env['ALLOWED_EMAILS'] ?? '').split(',').filter(Boolean)[0];
    const domain = (proxy?.env['ALLOWED_DOMAINS'] ?? '').split(',').filter(Boolean)[0];
    // svc-proxy's real sign-in flow (state, PKCE, code exchange, userinfo, allow-list) against
    // the local stack's loopback provider, through svc-proxy's OAUTH_*_URL overrides.
    idp = await startDevIdentityProvider({
      host: '127.0.0.1',
      port: 0,
      email: allowed ?? `operator@${domain ?? 'example.com'}`,
      subject: 'images-check-operator',
    });
    kubeApi = await startFakeKubeApi(objects, () =>
      pods.map((p) => ({
        name: p.plan.pod,
        namespace: p.plan.namespace,
        labels: p.plan.labels,
        ip: p.ip,
        ready: p.ready,
        ports: p.plan.ports,
      })),
    );
    const hosts = hostAliases(objects);
    say(
      `run ${runId}: overlay ${options.overlay}, ${plans.length} pods, RabbitMQ vhost ${infra.vhost}, databases ${[...infra.databases.values()].join(', ')}`,
    );
    say(
      `  host names → 127.0.0.1: ${[...hosts.keys()].filter((h) => !h.includes('.')).join(', ')} (and their .<ns>.svc.cluster.local forms)`,
    );

    for (const plan of plans) {
      const ip = podIp(plan.deployment);
      // Every pod listens on PORT from the ConfigMap, and on one host network those collide: each
      // pod gets its own loopback address as its "pod IP" and binds there (HOST), ports unchanged.
      const envOverrides: Record<string, string> = { HOST: ip };
      if (plan === proxy) {
        envOverrides['OAUTH_AUTHORIZATION_URL'] = idp.authorizationURL;
        envOverrides['OAUTH_TOKEN_URL'] = idp.tokenURL;
        envOverrides['OAUTH_USERINFO_URL'] = idp.userinfoURL;
      }
      const pod = await startPod(plan, {
        runId,
        ip,
        hosts,
        envOverrides,
        workDir,
        kubeApi,
        onChange: () => kubeApi?.podsChanged(),
      });
      pods.push(pod);
      // One pod after the other, each ready before the next starts: all six starting at once on
      // two cores (two model loads, engine threads) take longer than liveness allows a container
      // that declares no startupProbe. A kubelet would start them together; see docs/deploy.md.
      const seconds = await waitReady(pod, options.readyDeadlineMs);
      const r = plan.readinessProbe;
      say(
        `  ready   ${plan.deployment.padEnd(18)} ${plan.image} at ${ip} after ${seconds.toFixed(1)} s (user ${plan.user ?? 'image'}, ${plan.readOnlyRootFilesystem ? 'read-only root' : 'writable root'}; readiness GET ${r?.path}:${r?.port} every ${r?.periodSeconds} s; env overrides ${Object.keys(envOverrides).join(', ')})`,
      );
    }

    const amqpUrl = secrets.get('conveyor-rabbitmq')?.['url']?.replace(/@rabbitmq:/, '@127.0.0.1:');
    if (!amqpUrl)
      throw new Error('the rendered manifests have no Secret conveyor-rabbitmq with key url');
    const config = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'conveyor-config',
    );
    const stepQueueType = (config?.['data'] as Record<string, string> | undefined)?.[
      'STEP_QUEUE_TYPE'
    ];
    workers = startExampleWorkers(amqpUrl, stepQueueType ? { STEP_QUEUE_TYPE: stepQueueType } : {});

    const url = (deployment: string) => {
      const pod = pods.find((p) => p.plan.deployment === deployment);
      const port = pod?.plan.ports.find((p) => p.name === 'http')?.containerPort;
      if (!pod || !port)
        throw new Error(`no pod of Deployment ${deployment} with a port named http`);
      return `http://${pod.ip}:${port}`;
    };
    const step = async (what: string, fn: () => Promise<string>) => {
      const t = Date.now();
      try {
        say(`  ok      ${await fn()} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
      } catch (error) {
        const dead = deadWorker(workers);
        const failing = pods.filter((p) => p.failure);
        const details = await Promise.all(failing.map((p) => describeFailure(p, p.failure ?? '')));
        throw new Error(
          [`${what}: ${(error as Error).message}`, ...(dead ? [dead] : []), ...details].join('\n'),
        );
      }
    };
    await step('classify-questions', () => classifyQuestionsRun(url('orchestrator')));
    await step('document-processing', () => documentProcessingRun(url('orchestrator'), runId));
    await step('checkers engine move', () => checkersEngineMove(url('checkers')));
    if (proxy) {
      const target = pods.find((p) => p.plan.deployment === 'orchestrator');
      await step('svc-proxy sign-in', () =>
        signInAndReadDebugVars({
          publicUrl: proxy.env['PUBLIC_URL'] as string,
          podUrl: url(proxy.deployment),
          namespace: target?.plan.namespace ?? '',
          service: 'orchestrator',
          pod: target?.plan.pod ?? '',
        }),
      );
    }
    // Every pod is still alive and ready after the traffic (liveness kept passing).
    for (const pod of pods) {
      if (pod.failure || !pod.ready)
        throw new Error(
          await describeFailure(pod, pod.failure ?? 'not ready after the end-to-end checks'),
        );
    }
    if (kubeApi.denied.length > 0)
      throw new Error(
        `the fake API server refused by the rendered RBAC: ${kubeApi.denied.join('; ')}`,
      );
    say(
      `  all ${pods.length} pods alive and ready after the checks; liveness and readiness probes passing`,
    );
    failed = false;
    return { lines };
  } finally {
    for (const pod of pods) pod.stopProbes();
    await stopHostWorkers(workers);
    const keep = failed && options.keepOnFailure;
    if (keep)
      log(`kept the containers of run ${runId}: \`tools/images/src/cli.ts clean\` removes them`);
    const removed = keep
      ? []
      : await removeLabelledContainers(runId).catch((e: Error) => {
          log(`cleanup: ${e.message}`);
          return [];
        });
    await kubeApi?.close();
    await idp?.stop();
    if (infra) {
      const queues = await infra.remove().catch((e: Error) => {
        log(`cleanup: ${e.message}`);
        return [];
      });
      say(
        `cleanup: removed ${removed.length} containers, vhost ${infra.vhost} with its ${queues.length} queues (${queues.join(', ')}), ${infra.databases.size} databases`,
      );
    }
    if (!keep) rmSync(workDir, { recursive: true, force: true });
  }
}
