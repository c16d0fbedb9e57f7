import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadStaticEndpoints,
  parseStaticEndpoints,
  StaticDirectory,
  StaticEndpointsError,
} from './static-endpoints';

const problemsOf = (text: string): string[] => {
  try {
    parseStaticEndpoints(text, 'endpoints.yaml');
  } catch (error) {
    if (error instanceof StaticEndpointsError) return [...error.problems];
    throw error;
  }
  throw new Error('expected the document to be refused');
};

const YAML = `
endpoints:
  - namespace: local
    service: orchestrator
    port: 3001
    pods:
      - { name: orchestrator-0, ip: 127.0.0.1, node: laptop }
      - { name: orchestrator-1, ip: 127.0.0.2, ready: false }
  - namespace: local
    service: checkers
    port: 3003
    pods: [{ name: checkers-0, ip: "::1" }]
`;

describe('static endpoints file', () => {
  it('turns ready pods into targets, sorted like the informers sort them', () => {
    expect(parseStaticEndpoints(YAML, 'endpoints.yaml')).toEqual([
      {
        namespace: 'local',
        service: 'checkers',
        pod: 'checkers-0',
        ip: '::1',
        port: 3003,
        ready: true,
      },
      {
        namespace: 'local',
        service: 'orchestrator',
        pod: 'orchestrator-0',
        ip: '127.0.0.1',
        port: 3001,
        node: 'laptop',
        ready: true,
      },
    ]);
  });

  it('reads JSON as well', () => {
    const json = JSON.stringify({
      endpoints: [
        {
          namespace: 'ns',
          service: 'svc',
          port: 8080,
          pods: [{ name: 'p', ip: '10.0.0.1', ready: true }],
        },
      ],
    });
    expect(parseStaticEndpoints(json, 'e.json')).toEqual([
      { namespace: 'ns', service: 'svc', pod: 'p', ip: '10.0.0.1', port: 8080, ready: true },
    ]);
  });

  it('names every problem with its place in the document', () => {
    const found = problemsOf(`
endpoints:
  - namespace: Local_NS
    service: svc
    port: 70000
    pods:
      - { name: p, ip: localhost }
      - { ip: 10.0.0.1, colour: red }
`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^endpoints\[0\]\.namespace: namespace must be a DNS label/),
        'endpoints[0].port: port must be from 1 to 65535',
        expect.stringMatching(/^endpoints\[0\]\.pods\[0\]\.ip: ip must be an IPv4 or IPv6 address/),
        'endpoints[0].pods[1].name: name is required',
        expect.stringMatching(/^endpoints\[0\]\.pods\[1\]: .*colour/),
      ]),
    );
  });

  it('refuses duplicates, a missing list, and text that is not YAML', () => {
    expect(
      problemsOf(
        `endpoints:\n  - { namespace: a, service: b, port: 1, pods: [{ name: p, ip: 10.0.0.1 }, { name: p, ip: 10.0.0.2 }] }`,
      ),
    ).toEqual([
      'endpoints[0].pods[1]: pod a/b/p is already listed at endpoints[0].pods[0]; each namespace/service/pod must be unique',
    ]);
    expect(problemsOf('services: []')).toEqual(
      expect.arrayContaining([
        'endpoints: endpoints must be a list of { namespace, service, port, pods }',
      ]),
    );
    expect(problemsOf('endpoints: [ {')[0]).toMatch(/^not valid YAML or JSON: /);
  });

  it('says which variable to fix when the file cannot be read, and the message shows the expected shape', () => {
    expect(() => loadStaticEndpoints('/nonexistent/endpoints.yaml')).toThrow(
      /STATIC_ENDPOINTS_FILE \/nonexistent\/endpoints\.yaml is invalid \(1 problem\):\n {2}- cannot be read: .*ENOENT.*point STATIC_ENDPOINTS_FILE at an existing file\nExpected YAML or JSON/,
    );
  });

  it('serves lookups and reports synced once started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'svc-proxy-static-'));
    try {
      const file = join(dir, 'endpoints.yaml');
      writeFileSync(file, YAML);
      const source = new StaticDirectory(file);
      expect(source.synced).toBe(false);
      await source.start();
      expect(source.synced && source.healthy).toBe(true);
      expect(source.find('local', 'orchestrator', 'orchestrator-0')).toMatchObject({
        ip: '127.0.0.1',
        port: 3001,
      });
      // Not ready → not a target, exactly like an unready EndpointSlice endpoint.
      expect(source.find('local', 'orchestrator', 'orchestrator-1')).toBeUndefined();
      expect(source.status()).toEqual({
        [`static:${file}`]: { phase: 'synced', since: expect.any(String) },
      });
      await source.stop();
      expect(source.synced).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
