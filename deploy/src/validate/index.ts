import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseResources, type KubeObject } from '../kustomize/resource';
import { conventionProblems } from './conventions';
import { kedaProblems } from './keda';
import { referenceProblems, type ExternalObjects } from './references';
import { schemaProblems } from './schema';

export {
  conventionProblems,
  containerEnv,
  conveyorApp,
  APP_PORT,
  ADMIN_PORT,
  ADMIN_PORT_NAME,
  ENDPOINT_PORT_ANNOTATION,
} from './conventions';
export { referenceProblems, type ExternalObjects } from './references';
export { schemaProblems } from './schema';
export { kedaProblems, CONSUMED_QUEUE_VARIABLE } from './keda';
export { workloadsOf, selectorMatches } from './workloads';

/** The Secret templates in deploy/secrets: the Secrets production must create, with their keys. */
export function secretTemplates(deployDir: string): KubeObject[] {
  const dir = path.join(deployDir, 'secrets');
  const files = ['rabbitmq.yaml', 'postgres.yaml', 'svc-proxy-oauth.yaml'];
  return files.flatMap((f) =>
    parseResources(readFileSync(path.join(dir, f), 'utf8'), path.join(dir, f)),
  );
}

export function externalSecretsFrom(templates: readonly KubeObject[]): ExternalObjects {
  return {
    secrets: new Map(
      templates
        .filter((t) => t.kind === 'Secret')
        .map((t) => [
          t.metadata.name,
          new Set([
            ...Object.keys((t['stringData'] as object) ?? {}),
            ...Object.keys((t['data'] as object) ?? {}),
          ]),
        ]),
    ),
  };
}

/** An entry point build-app.mjs bundles: src/main.ts, or a top-level src file run directly. */
export function entryPointExists(workspaceRoot: string) {
  return (app: string, script: string): boolean => {
    const source = path.join(workspaceRoot, 'apps', app, 'src', script.replace(/\.js$/, '.ts'));
    if (!existsSync(source)) return false;
    return (
      script === 'main.js' || /require\.main\s*===\s*module/.test(readFileSync(source, 'utf8'))
    );
  };
}

/** Every problem with a rendered overlay: schema, references and Conveyor's conventions. */
export function validateRendered(
  objects: readonly KubeObject[],
  options: { workspaceRoot: string; external: ExternalObjects },
): string[] {
  return [
    ...objects.flatMap(schemaProblems),
    ...referenceProblems(objects, options.external),
    ...kedaProblems(objects, options.external),
    ...conventionProblems(objects, { entryPointExists: entryPointExists(options.workspaceRoot) }),
  ];
}
