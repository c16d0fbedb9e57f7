import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { WORKSPACE_ROOT, type KubeObject, type PodPlan } from './manifests';

// What the check puts where a cluster would have something else: host names for the Services
// of the StatefulSets (this machine's servers), and the README's workflow in the workflow volume.

/** Services with no Deployment behind them (RabbitMQ, PostgreSQL) are this machine's servers. */
export function hostAliases(objects: readonly KubeObject[]): Map<string, string> {
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const backedByDeployment = (service: KubeObject) => {
    const selector = (service['spec'] as { selector?: Record<string, string> }).selector ?? {};
    return deployments.some((d) => {
      const labels =
        (d['spec'] as { template: { metadata?: { labels?: Record<string, string> } } }).template
          .metadata?.labels ?? {};
      return (
        Object.keys(selector).length > 0 &&
        Object.entries(selector).every(([k, v]) => labels[k] === v)
      );
    });
  };
  const aliases = new Map<string, string>();
  for (const s of objects.filter((o) => o.kind === 'Service' && !backedByDeployment(o))) {
    const ns = s.metadata.namespace ?? 'default';
    const name = s.metadata.name;
    for (const host of [
      name,
      `${name}.${ns}`,
      `${name}.${ns}.svc`,
      `${name}.${ns}.svc.cluster.local`,
    ])
      aliases.set(host, '127.0.0.1');
  }
  return aliases;
}

/**
 * The README's example workflows added to the orchestrator's workflow volume (as docs/deploy.md
 * says to add a workflow: a file in the orchestrator-workflows ConfigMap), the queue catalogues
 * merged. The check needs them for the README's workflow; the deployed ones stay.
 */
export function withExampleWorkflows(plan: PodPlan): PodPlan {
  const dir = plan.env['WORKFLOWS_DIR'];
  const mount = plan.mounts.find((m) => m.mountPath === dir);
  if (!mount || mount.source.kind !== 'files')
    throw new Error(`${plan.deployment}: WORKFLOWS_DIR ${dir} is not a ConfigMap volume`);
  const exampleDir = path.join(WORKSPACE_ROOT, 'examples/document-processing/workflows');
  const files = { ...mount.source.files };
  for (const file of readdirSync(exampleDir).filter((f) => f.endsWith('.yaml'))) {
    const text = readFileSync(path.join(exampleDir, file), 'utf8');
    if (file === 'queues.yaml' && files[file] !== undefined) {
      const ours = parse(files[file]) as { queues: Record<string, unknown> };
      const theirs = parse(text) as { queues: Record<string, unknown> };
      files[file] = stringify({ queues: { ...theirs.queues, ...ours.queues } });
    } else if (files[file] === undefined) files[file] = text;
  }
  return {
    ...plan,
    mounts: plan.mounts.map((m) =>
      m === mount ? { ...m, source: { ...mount.source, files } } : m,
    ),
  };
}
