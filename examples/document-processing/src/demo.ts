// Sends the sample bundle to a running orchestrator and prints the result per document.
// Needs: the orchestrator (nx run orchestrator:serve), the TypeScript workers
// (nx run document-processing-example:workers) and the Python worker (…:python-worker), all with
// the same AMQP_URL. See README.md.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

async function main() {
  const base = process.env.ORCHESTRATOR_URL ?? 'http://127.0.0.1:3001';
  const bundle = JSON.parse(
    readFileSync(join(__dirname, '..', 'sample', 'bundle.json'), 'utf8'),
  ) as { bundleId: string };
  // A fresh id per demo run: the workflow's idempotency key is the bundle id.
  bundle.bundleId = `${bundle.bundleId}-${Date.now()}`;
  const response = await fetch(`${base}/api/workflows/document-processing/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: bundle, waitMs: 60_000 }),
  });
  const body = (await response.json()) as {
    run?: { id: string; status: string; output: unknown; error: unknown };
  };
  if (!body.run)
    throw new Error(`the orchestrator answered ${response.status}: ${JSON.stringify(body)}`);
  console.log(
    `run ${body.run.id}: ${body.run.status} (inspect it at ${base}/#/runs/${body.run.id})`,
  );
  console.log(JSON.stringify(body.run.output ?? body.run.error, null, 2));
  if (body.run.status !== 'succeeded') process.exit(1);
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
