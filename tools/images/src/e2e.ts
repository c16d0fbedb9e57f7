import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Browser } from './browser';
import { WORKSPACE_ROOT } from './manifests';

async function json<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${what}: HTTP ${res.status} with non-JSON: ${text.slice(0, 300)}`);
  }
}

interface Run {
  id: string;
  status: string;
  error: unknown;
  output: unknown;
}

async function startRun(orchestrator: string, workflow: string, input: unknown): Promise<Run> {
  const res = await fetch(`${orchestrator}/api/workflows/${workflow}/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input, waitMs: 150_000 }),
    signal: AbortSignal.timeout(180_000),
  });
  const { run } = await json<{ run: Run }>(res, `POST /api/workflows/${workflow}/runs`);
  if (res.status !== 200 || run?.status !== 'succeeded')
    throw new Error(
      `workflow ${workflow}: HTTP ${res.status}, run ${run?.id} ${run?.status}: ${JSON.stringify(run?.error ?? run).slice(0, 600)}`,
    );
  return run;
}

/** The deployed workflow ConfigMap's own workflow, served by the classifier-worker pod. */
export async function classifyQuestionsRun(orchestrator: string): Promise<string> {
  const run = await startRun(orchestrator, 'classify-questions', {
    type: 'classifier.classify.request',
    version: 1,
    items: [
      {
        id: 'q1',
        title: 'How do I read a CSV file with pandas?',
        body: '<p>I tried <code>open()</code> but the columns are wrong.</p>',
      },
    ],
  });
  // The workflow declares no `output`, so the run's output is its steps' outputs by name.
  const output = run.output as { classify?: { results?: { id: string; label: string }[] } };
  const label = output.classify?.results?.[0]?.label;
  if (!['none', 'low', 'high'].includes(label ?? ''))
    throw new Error(
      `classify-questions: unexpected output ${JSON.stringify(run.output).slice(0, 300)}`,
    );
  return `classify-questions run ${run.id} succeeded: q1 rated "${label}" by the classifier-worker pod`;
}

/** The README's workflow: OCR → split → per document classify (classifier-worker pod) + extract. */
export async function documentProcessingRun(orchestrator: string, runId: string): Promise<string> {
  const bundle = JSON.parse(
    readFileSync(
      path.join(WORKSPACE_ROOT, 'examples/document-processing/sample/bundle.json'),
      'utf8',
    ),
  ) as { bundleId: string };
  bundle.bundleId = `images-check-${runId}`;
  const run = await startRun(orchestrator, 'document-processing', bundle);
  const documents = (run.output as { documents?: { id: string; quality: string; model: string }[] })
    .documents;
  if (!documents?.length || documents.some((d) => !['none', 'low', 'high'].includes(d.quality)))
    throw new Error(
      `document-processing: unexpected output ${JSON.stringify(run.output).slice(0, 600)}`,
    );
  // The example's heuristic stand-in is not running: every rating came from the classifier image.
  if (documents.some((d) => d.model === 'heuristic-stand-in' || d.model === undefined))
    throw new Error(
      `document-processing: a document was not rated by the classifier: ${JSON.stringify(documents)}`,
    );
  return `document-processing run ${run.id} succeeded: ${documents.map((d) => `${d.id}=${d.quality}`).join(', ')} (model ${documents[0]?.model})`;
}

/** One human move and one engine move, the engine answering from the checkers-engine pod. */
export async function checkersEngineMove(checkers: string): Promise<string> {
  const post = (p: string, body: unknown = {}) =>
    fetch(`${checkers}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
  type Game = {
    id: string;
    moves: { by: string; notation?: string }[];
    legalMoves: { notation: string }[];
    status: { state: string; awaiting?: string };
  };
  const created = await post('/api/games', { side: 'white', difficulty: 'easy' });
  const game = await json<Game>(created, 'POST /api/games');
  if (created.status !== 200 && created.status !== 201)
    throw new Error(
      `checkers: creating a game answered ${created.status}: ${JSON.stringify(game)}`,
    );
  const move = game.legalMoves[0]?.notation;
  const played = await post(`/api/games/${game.id}/moves`, { move });
  if (played.status !== 200)
    throw new Error(`checkers: move ${move} answered ${played.status}: ${await played.text()}`);
  await played.arrayBuffer().catch(() => undefined);
  const reply = await post(`/api/games/${game.id}/engine-move`);
  const after = await json<Game>(reply, 'POST engine-move');
  if (reply.status !== 200 || after.moves.at(-1)?.by !== 'engine')
    throw new Error(
      `checkers: engine-move answered ${reply.status}: ${JSON.stringify(after).slice(0, 400)}`,
    );
  return `checkers game ${game.id}: human ${move}, engine ${after.moves.at(-1)?.notation ?? '(moved)'}`;
}

/**
 * Sign-in at svc-proxy (its public URL reached through the pod address, as an Ingress would),
 * through the mock identity provider, then a pod's /debug/vars through the proxy.
 */
export async function signInAndReadDebugVars(options: {
  publicUrl: string;
  podUrl: string;
  namespace: string;
  service: string;
  pod: string;
}): Promise<string> {
  const publicOrigin = new URL(options.publicUrl).origin;
  const browser = new Browser(new Map([[publicOrigin, options.podUrl]]));
  const target = `${publicOrigin}/proxy/${options.namespace}/${options.service}/${options.pod}/debug/vars`;
  const { visited, last } = await browser.follow(target);
  const hops = visited.map((u) => new URL(u).pathname);
  const expected = [
    new URL(target).pathname,
    '/oauth2/start',
    '/authorize',
    '/oauth2/callback',
    new URL(target).pathname,
  ];
  if (JSON.stringify(hops) !== JSON.stringify(expected))
    throw new Error(
      `svc-proxy sign-in went ${hops.join(' → ')} (expected ${expected.join(' → ')}); last answer ${last.status}: ${last.body.slice(0, 300)}`,
    );
  if (last.status !== 200)
    throw new Error(
      `svc-proxy: ${target} answered ${last.status} after sign-in: ${last.body.slice(0, 300)}`,
    );
  const vars = JSON.parse(last.body) as { service?: string };
  if (vars.service !== options.service)
    throw new Error(`svc-proxy: /debug/vars of ${options.pod} names service ${vars.service}`);
  return `signed in at svc-proxy (${hops.join(' → ')}) and read ${options.service}'s /debug/vars through it`;
}
