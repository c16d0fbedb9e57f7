import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { stringify } from 'yaml';

/** A local service svc-proxy should list: its /debug/vars and /metrics are on this port. */
export interface LocalService {
  readonly service: string;
  readonly port: number;
}

export const LOCAL_NAMESPACE = 'local';

/** The pod name each local service appears under in svc-proxy (`/proxy/local/<service>/<pod>/`). */
export const podName = (service: string): string => `${service}-0`;

/** Where svc-proxy shows a local service's debug variables. */
export const proxiedDebugVars = (svcProxyUrl: string, service: string): string =>
  `${svcProxyUrl}/proxy/${LOCAL_NAMESPACE}/${service}/${podName(service)}/debug/vars`;

/**
 * svc-proxy's static discovery document (apps/svc-proxy README, "Static discovery") for services
 * on this machine: one ready "pod" per service at the loopback address it listens on.
 */
export function endpointsDocument(services: readonly LocalService[], ip = '127.0.0.1') {
  const node = hostname().toLowerCase();
  return {
    endpoints: services.map((s) => ({
      namespace: LOCAL_NAMESPACE,
      service: s.service,
      port: s.port,
      pods: [{ name: podName(s.service), ip, node, ready: true }],
    })),
  };
}

export function writeEndpointsFile(
  file: string,
  services: readonly LocalService[],
  ip?: string,
): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    `# Written by tools/local-stack at every start: the services svc-proxy may proxy to.\n${stringify(endpointsDocument(services, ip))}`,
  );
}
