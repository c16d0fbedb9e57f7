import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { endpointSlice, service, type EndpointSpec } from '../../test/support/fake-kube-api';
import { parsePortAnnotation, resolveTargets } from './targets';

const svc = (...args: Parameters<typeof service>) => service(...args) as unknown as V1Service;
const slice = (
  ns: string,
  name: string,
  eps: EndpointSpec[],
  ports?: { name: string; port: number }[],
  sliceName?: string,
) => endpointSlice(ns, name, eps, ports, sliceName) as unknown as V1EndpointSlice;

describe('target resolution', () => {
  it('parses the annotation as a number or a port name', () => {
    expect(parsePortAnnotation('8080')).toEqual({ kind: 'number', port: 8080 });
    expect(parsePortAnnotation('http-debug')).toEqual({ kind: 'name', name: 'http-debug' });
    expect(parsePortAnnotation('0').kind).toBe('invalid');
    expect(parsePortAnnotation('70000').kind).toBe('invalid');
    expect(parsePortAnnotation('8080; rm').kind).toBe('invalid');
    expect(parsePortAnnotation('').kind).toBe('invalid');
  });

  it('lists only ready pods of annotated services, with the annotated port', () => {
    const { targets, problems } = resolveTargets(
      [svc('shop', 'cart', { annotation: '9090' }), svc('shop', 'db')],
      [
        slice('shop', 'cart', [
          { pod: 'cart-0', ip: '10.0.0.1', node: 'n1' },
          { pod: 'cart-1', ip: '10.0.0.2', ready: false },
          { pod: 'cart-2', ip: '10.0.0.3', terminating: true, ready: false },
          { pod: 'cart-3', ip: '10.0.0.4', ready: true, serving: false },
        ]),
        slice('shop', 'db', [{ pod: 'db-0', ip: '10.0.0.9' }]),
      ],
    );
    expect(problems).toEqual([]);
    expect(targets).toEqual([
      {
        namespace: 'shop',
        service: 'cart',
        pod: 'cart-0',
        ip: '10.0.0.1',
        port: 9090,
        node: 'n1',
        ready: true,
      },
    ]);
  });

  it('resolves named ports from the EndpointSlice, then from the Service targetPort', () => {
    const fromSlice = resolveTargets(
      [
        svc('a', 's', {
          annotation: 'debug',
          ports: [{ name: 'debug', port: 80, targetPort: 'debug-port' }],
        }),
      ],
      [slice('a', 's', [{ pod: 'p', ip: '10.0.0.1' }], [{ name: 'debug', port: 6060 }])],
    );
    expect(fromSlice.targets[0]?.port).toBe(6060);
    const fromService = resolveTargets(
      [
        svc('a', 's', {
          annotation: 'debug',
          ports: [{ name: 'debug', port: 80, targetPort: 6061 }],
        }),
      ],
      [slice('a', 's', [{ pod: 'p', ip: '10.0.0.1' }], [])],
    );
    expect(fromService.targets[0]?.port).toBe(6061);
  });

  it('reports annotations it cannot use', () => {
    const { targets, problems } = resolveTargets(
      [
        svc('a', 'bad', { annotation: 'not a port!' }),
        svc('a', 'named', { annotation: 'missing' }),
      ],
      [slice('a', 'named', [{ pod: 'p', ip: '10.0.0.1' }])],
    );
    expect(targets).toEqual([]);
    expect(problems.map((p) => `${p.service}: ${p.problem}`)).toEqual([
      expect.stringContaining('bad: k8s-svc-proxy.local/endpoint-port="not a port!"'),
      expect.stringContaining('named: k8s-svc-proxy.local/endpoint-port names port "missing"'),
    ]);
  });

  it('merges several slices of one service and ignores slices of other namespaces', () => {
    const { targets } = resolveTargets(
      [svc('a', 's', { annotation: '80' })],
      [
        slice('a', 's', [{ pod: 'p-0', ip: '10.0.0.1' }], undefined, 's-1'),
        slice('a', 's', [{ pod: 'p-1', ip: '10.0.0.2' }], undefined, 's-2'),
        slice('b', 's', [{ pod: 'p-2', ip: '10.0.0.3' }]),
      ],
    );
    expect(targets.map((t) => t.pod)).toEqual(['p-0', 'p-1']);
  });

  it('skips endpoints that are not pods', () => {
    const s = slice('a', 's', [{ pod: 'p', ip: '10.0.0.1' }]);
    const endpoint = s.endpoints[0];
    if (endpoint) endpoint.targetRef = { kind: 'Node', name: 'node-1' };
    expect(resolveTargets([svc('a', 's', { annotation: '80' })], [s]).targets).toEqual([]);
  });
});
