import { groupVersion, type KubeObject } from '../kustomize/resource';

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/**
 * Validates objects against the Kubernetes OpenAPI schemas compiled into `kubernetes-models`
 * (types, required fields, enums, formats). Its schemas allow unknown fields, so a misspelt
 * optional field is not caught here: the convention checks cover the fields Conveyor relies on.
 */
export function schemaProblems(obj: KubeObject): string[] {
  const { group, version } = groupVersion(obj.apiVersion);
  // KEDA's CRDs come compiled from the same generator (@kubernetes-models/keda).
  const modulePath =
    group === 'keda.sh'
      ? `@kubernetes-models/keda/${group}/${version}`
      : group
        ? `kubernetes-models/${group}/${version}`
        : `kubernetes-models/${version}`;
  let models: Record<string, unknown>;
  try {
    models = require(modulePath) as Record<string, unknown>;
  } catch {
    return [
      `${obj.kind}/${obj.metadata.name}: apiVersion ${obj.apiVersion} is not a Kubernetes API version kubernetes-models knows`,
    ];
  }
  const Model = models[obj.kind] as ModelClass | undefined;
  if (typeof Model !== 'function') {
    return [`${obj.kind}/${obj.metadata.name}: ${obj.apiVersion} has no kind ${obj.kind}`];
  }
  try {
    new Model(obj).validate();
    return [];
  } catch (error) {
    const details = (error as { errors?: { instancePath: string; message?: string }[] }).errors;
    if (details?.length) {
      return details.map(
        (d) =>
          `${obj.kind}/${obj.metadata.name}: ${d.instancePath || '(root)'} ${d.message ?? 'is invalid'}`,
      );
    }
    return [`${obj.kind}/${obj.metadata.name}: ${(error as Error).message}`];
  }
}
