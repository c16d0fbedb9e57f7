import {
  appImages,
  containerEnv,
  cpus,
  expandReferences,
  memoryBytes,
  parseManifests,
  podPlans,
  renderOverlay,
  secretValues,
  type KubeObject,
} from '../src/manifests';
import { hostAliases, withExampleWorkflows } from '../src/stand-ins';

const FIXTURE = `
apiVersion: v1
kind: ConfigMap
metadata: { name: common, namespace: ns }
data: { PORT: '8080', LOG_LEVEL: debug }
---
apiVersion: v1
kind: Secret
metadata: { name: creds, namespace: ns }
data: { password: ${Buffer.from('s3cret').toString('base64')} }
stringData: { url: 'amqp://u:p@rabbitmq:5672' }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ns }
spec:
  template:
    metadata: { labels: { app: web } }
    spec:
      securityContext: { runAsUser: 1000, runAsGroup: 1000 }
      automountServiceAccountToken: false
      containers:
        - name: web
          image: localhost:5001/conveyor/web:1.0.0
          command: [node, '$(ENTRY)']
          ports: [{ name: http, containerPort: 8080 }]
          envFrom:
            - configMapRef: { name: common }
            - secretRef: { name: creds }
              prefix: DB_
          env:
            - { name: ENTRY, value: main.js }
            - { name: GREETING, value: 'on $(PORT) with $$(PORT) and $(UNSET)' }
            - name: NS
              valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
            - name: IP
              valueFrom: { fieldRef: { fieldPath: status.podIP } }
          readinessProbe:
            httpGet: { path: /readyz, port: http }
          resources: { limits: { cpu: 500m, memory: 256Mi } }
          securityContext:
            readOnlyRootFilesystem: true
            allowPrivilegeEscalation: false
            capabilities: { drop: [ALL] }
          volumeMounts: [{ name: tmp, mountPath: /tmp }]
      volumes: [{ name: tmp, emptyDir: {} }]
`;

describe('pod plans from a pod template (kubelet rules)', () => {
  const objects = parseManifests(FIXTURE);
  const [plan] = podPlans(objects, secretValues(objects), () => '127.0.9.1');

  it('builds the environment: envFrom (with prefix) first, then env with $(VAR) expansion and the downward API', () => {
    expect(plan?.env).toEqual({
      PORT: '8080',
      LOG_LEVEL: 'debug',
      DB_password: 's3cret',
      DB_url: 'amqp://u:p@rabbitmq:5672',
      ENTRY: 'main.js',
      GREETING: 'on 8080 with $(PORT) and $(UNSET)',
      NS: 'ns',
      IP: '127.0.9.1',
    });
  });

  it('applies Kubernetes defaults to probe fields left out and resolves named ports', () => {
    expect(plan?.readinessProbe).toEqual({
      path: '/readyz',
      port: 8080,
      initialDelaySeconds: 0,
      periodSeconds: 10,
      timeoutSeconds: 1,
      failureThreshold: 3,
      successThreshold: 1,
    });
  });

  it('carries user, read-only root, capabilities, limits and volumes; no token when automount is off', () => {
    expect(plan).toMatchObject({
      deployment: 'web',
      pod: 'web-0',
      namespace: 'ns',
      image: 'localhost:5001/conveyor/web:1.0.0',
      command: ['node', '$(ENTRY)'],
      user: '1000:1000',
      readOnlyRootFilesystem: true,
      noNewPrivileges: true,
      capDrop: ['ALL'],
      memoryLimit: '256Mi',
      cpuLimit: '500m',
      mounts: [{ mountPath: '/tmp', readOnly: false, volume: 'tmp', source: { kind: 'emptyDir' } }],
    });
    expect(plan?.serviceAccount).toBeUndefined();
  });

  it('refuses a reference a kubelet could not resolve, naming it', () => {
    const broken = parseManifests(
      FIXTURE.replace('name: creds }\n              prefix', 'name: nope }\n              prefix'),
    );
    expect(() => podPlans(broken, secretValues(broken), () => '127.0.9.1')).toThrow(
      /Deployment\/web container web: envFrom Secret "nope" does not exist/,
    );
  });

  it('converts resource quantities and expands references like the kubelet', () => {
    expect(cpus('500m')).toBe('0.5');
    expect(cpus('2')).toBe('2');
    expect(memoryBytes('1536Mi')).toBe(1536 * 1024 * 1024);
    expect(memoryBytes('1G')).toBe(1e9);
    expect(expandReferences('$(A)-$$(A)-$(B)', { A: 'x' })).toBe('x-$(A)-$(B)');
    expect(() => memoryBytes('lots')).toThrow(/unsupported memory quantity/);
  });
});

describe('the dev overlay as rendered now', () => {
  let objects: KubeObject[];
  beforeAll(() => {
    objects = renderOverlay('dev');
  }, 60_000);

  it('has an image for each of the four apps and a plan for every Deployment', () => {
    expect([...appImages(objects).keys()].sort()).toEqual([
      'checkers',
      'classifier',
      'orchestrator',
      'svc-proxy',
    ]);
    const plans = podPlans(objects, secretValues(objects), () => '127.0.9.1');
    expect(plans.map((p) => p.deployment).sort()).toEqual(
      objects
        .filter((o) => o.kind === 'Deployment')
        .map((o) => o.metadata.name)
        .sort(),
    );
    // Only svc-proxy mounts a service-account token (it watches the API server).
    expect(plans.filter((p) => p.serviceAccount).map((p) => p.deployment)).toEqual(['svc-proxy']);
  });

  it('maps only the Services without a Deployment (RabbitMQ, PostgreSQL) to this machine', () => {
    const short = [...hostAliases(objects).keys()].filter((h) => !h.includes('.')).sort();
    expect(short).toEqual(['postgres', 'postgres-headless', 'rabbitmq', 'rabbitmq-headless']);
    expect(hostAliases(objects).get('rabbitmq.conveyor-dev.svc.cluster.local')).toBe('127.0.0.1');
  });

  it("adds the README's example workflows to the orchestrator's workflow volume, merging the queue catalogues", () => {
    const plans = podPlans(objects, secretValues(objects), () => '127.0.9.1');
    const orchestrator = withExampleWorkflows(
      plans.find((p) => p.deployment === 'orchestrator') as (typeof plans)[number],
    );
    const mount = orchestrator.mounts.find(
      (m) => m.mountPath === orchestrator.env['WORKFLOWS_DIR'],
    );
    const files = mount?.source.kind === 'files' ? mount.source.files : {};
    expect(Object.keys(files).sort()).toEqual([
      'classify-questions.yaml',
      'document-processing.yaml',
      'process-document.yaml',
      'queues.yaml',
    ]);
    expect(files['queues.yaml']).toMatch(/ocr:/);
    expect(files['queues.yaml']).toMatch(/classify:/);
  });

  it('resolves every environment variable of every container', () => {
    const secrets = secretValues(objects);
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      const spec = (
        d['spec'] as { template: { spec: { containers: Parameters<typeof containerEnv>[0][] } } }
      ).template.spec;
      for (const c of spec.containers) {
        const env = containerEnv(
          c,
          objects,
          secrets,
          { name: 'p', namespace: 'n', ip: '1.2.3.4' },
          d.metadata.name,
        );
        expect(Object.values(env).every((v) => typeof v === 'string')).toBe(true);
        expect(env['PORT']).toBe('8080');
      }
    }
  });
});
