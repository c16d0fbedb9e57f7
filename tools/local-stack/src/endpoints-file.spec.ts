import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { endpointsDocument, writeEndpointsFile } from './endpoints-file';

describe("svc-proxy's static endpoints for local services", () => {
  it('lists one ready pod per service on loopback, in the shape svc-proxy validates', () => {
    const document = endpointsDocument([
      { service: 'orchestrator', port: 3001 },
      { service: 'checkers', port: 3003 },
    ]);
    expect(document.endpoints).toEqual([
      {
        namespace: 'local',
        service: 'orchestrator',
        port: 3001,
        pods: [{ name: 'orchestrator-0', ip: '127.0.0.1', node: expect.any(String), ready: true }],
      },
      {
        namespace: 'local',
        service: 'checkers',
        port: 3003,
        pods: [{ name: 'checkers-0', ip: '127.0.0.1', node: expect.any(String), ready: true }],
      },
    ]);
  });

  it('writes YAML, creating the directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-stack-endpoints-'));
    try {
      const file = join(dir, 'svc-proxy', 'endpoints.yaml');
      writeEndpointsFile(file, [{ service: 'classifier', port: 3002 }]);
      expect(parse(readFileSync(file, 'utf8'))).toEqual(
        endpointsDocument([{ service: 'classifier', port: 3002 }]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
