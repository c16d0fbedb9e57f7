import { deployment } from './helpers';

/** A small base + overlay using every supported kustomize feature (also rendered by kubectl in kubectl-parity.spec.ts). */
export const OVERLAY_FIXTURE: Record<string, string> = {
  'base/kustomization.yaml':
    'resources: [app.yaml]\nlabels:\n  - pairs: {team: ml}\n    includeTemplates: true\n',
  'base/app.yaml': deployment('api'),
  'overlay/kustomization.yaml': `
namespace: prod
resources: [../base, rbac.yaml]
replicas: [{name: api, count: 3}]
images: [{name: example/api, newName: reg/api, newTag: "2.0"}]
labels: [{pairs: {env: prod}}]
configMapGenerator:
  - name: settings
    files: [settings.yaml]
    literals: [MODE=fast]
    options: {disableNameSuffixHash: true}
patches:
  - path: patch.yaml
  - target: {kind: Deployment, name: "a.*"}
    patch: |-
      - op: add
        path: /metadata/annotations
        value: {note: patched}
`,
  'overlay/settings.yaml': 'retries: 3\n',
  'overlay/rbac.yaml': `apiVersion: v1
kind: ServiceAccount
metadata: {name: api}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: api}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects:
  - {kind: ServiceAccount, name: api}
  - {kind: ServiceAccount, name: other, namespace: elsewhere}
  - {kind: ServiceAccount, name: unknown}
`,
  'overlay/patch.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: main
          env: [{name: E, value: new}]
`,
};
