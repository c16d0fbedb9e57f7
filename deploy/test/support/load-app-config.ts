// Runs one app's own configuration loader on an environment (JSON on stdin) and prints the
// outcome as JSON; app-config.spec.ts runs it in a child process (tsx) per Deployment so the
// manifests are checked against the apps' real zod schemas, not a copy of their rules.
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface Request {
  module: string;
  exportName: string;
  env: Record<string, string>;
}

const request = JSON.parse(readFileSync(0, 'utf8')) as Request;
// Loaded by path at run time: deploy/ checks the apps without depending on them at build time.
const loaded = require(path.resolve(request.module)) as Record<string, unknown>;
const loader = loaded[request.exportName];
if (typeof loader !== 'function') {
  console.log(
    JSON.stringify({
      ok: false,
      error: `${request.module} has no exported function ${request.exportName}`,
    }),
  );
} else {
  try {
    const result: unknown = loader(request.env);
    console.log(
      JSON.stringify({ ok: true, result }, (_k, v: unknown) =>
        v instanceof Set ? [...v] : v instanceof URL ? v.href : v,
      ),
    );
  } catch (error) {
    console.log(JSON.stringify({ ok: false, error: (error as Error).message }));
  }
}
