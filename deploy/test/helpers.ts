import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A scratch directory tree written from a { relativePath: content } map; removed by cleanup(). */
export function writeTree(files: Record<string, string>): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'conveyor-deploy-'));
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** kubectl with its built-in kustomize, when this machine has one (CI may not). */
export function kubectlKustomize(): ((dir: string) => string) | undefined {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 20_000 });
  } catch {
    return undefined;
  }
  return (dir) =>
    execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
}

export const deployment = (name: string, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
        - name: main
          image: example/${name}:1.0
          env: [{name: A, value: "1"}, {name: E, value: old}, {name: B, value: "2"}]
          ports: [{containerPort: 80, name: http}, {containerPort: 90}]
${extra}`;
