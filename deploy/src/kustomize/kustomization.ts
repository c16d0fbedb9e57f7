import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { KustomizeError } from './resource';

/**
 * The kustomization.yaml fields deploy/ may use: a documented subset of kustomize that
 * render.ts reproduces exactly. Every other field is rejected by name (strict objects), so an
 * overlay can never silently mean something different offline than under kubectl.
 */
const Selector = z
  .object({
    group: z.string().optional(),
    version: z.string().optional(),
    kind: z.string().optional(),
    name: z.string().optional(),
    namespace: z.string().optional(),
    labelSelector: z.string().optional(),
  })
  .strict();
export type Selector = z.infer<typeof Selector>;

const Patch = z
  .object({
    path: z.string().optional(),
    patch: z.string().optional(),
    target: Selector.optional(),
  })
  .strict()
  .refine((p) => (p.path === undefined) !== (p.patch === undefined), {
    message: 'a patch needs exactly one of "path" (a file) or "patch" (inline YAML)',
  });
export type PatchEntry = z.infer<typeof Patch>;

const Image = z
  .object({
    name: z.string().min(1),
    newName: z.string().optional(),
    newTag: z.string().optional(),
    digest: z.string().optional(),
  })
  .strict();
export type ImageEntry = z.infer<typeof Image>;

const ConfigMapGenerator = z
  .object({
    name: z.string().min(1),
    files: z.array(z.string()).optional(),
    literals: z.array(z.string()).optional(),
    options: z
      .object({
        disableNameSuffixHash: z.boolean().optional(),
        labels: z.record(z.string(), z.string()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type ConfigMapGeneratorEntry = z.infer<typeof ConfigMapGenerator>;

export const KustomizationSchema = z
  .object({
    apiVersion: z.literal('kustomize.config.k8s.io/v1beta1').optional(),
    kind: z.literal('Kustomization').optional(),
    resources: z.array(z.string()).optional(),
    namespace: z.string().optional(),
    labels: z
      .array(
        z
          .object({
            pairs: z.record(z.string(), z.string()),
            includeSelectors: z
              .literal(false, {
                error:
                  'includeSelectors: true is outside the supported subset (selectors are immutable; add selector labels in the manifests)',
              })
              .optional(),
            includeTemplates: z.boolean().optional(),
          })
          .strict(),
      )
      .optional(),
    images: z.array(Image).optional(),
    replicas: z
      .array(z.object({ name: z.string(), count: z.number().int().min(0) }).strict())
      .optional(),
    patches: z.array(Patch).optional(),
    configMapGenerator: z.array(ConfigMapGenerator).optional(),
    generatorOptions: z
      .object({ disableNameSuffixHash: z.boolean().optional() })
      .strict()
      .optional(),
  })
  .strict();
export type Kustomization = z.infer<typeof KustomizationSchema>;

export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

export function findKustomizationFile(dir: string): string | undefined {
  return KUSTOMIZATION_FILES.map((f) => path.join(dir, f)).find((f) => existsSync(f));
}

export function loadKustomization(dir: string): Kustomization {
  const file = findKustomizationFile(dir);
  if (!file) throw new KustomizeError(`${dir}: no kustomization.yaml`);
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new KustomizeError(`${file}: not valid YAML: ${(error as Error).message}`);
  }
  const parsed = KustomizationSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const at = issue.path.join('.') || '(top level)';
      if (issue.code === 'unrecognized_keys') {
        return `  ${at}: ${issue.keys.map((k) => `"${k}"`).join(', ')} ${issue.keys.length === 1 ? 'is' : 'are'} outside the kustomize subset deploy/ supports (see docs/deploy.md)`;
      }
      return `  ${at}: ${issue.message}`;
    });
    throw new KustomizeError(`${file}:\n${problems.join('\n')}`);
  }
  return parsed.data;
}
