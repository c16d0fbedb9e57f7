import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { createLogger, createObservability, type Observability } from '@conveyor/observability';
import type { Logger } from 'pino';
import { createApp, proxyFrontDoor, serveThrough } from './app';
import { SessionCodec } from './auth/session';
import { ConfigError, parseConfig, type SvcProxyConfig } from './config';
import { limitConnections } from './connection-limit';
import { Directory } from './discovery/directory';
import { loadKubeConfig } from './discovery/kubeconfig';
import type { TargetSource } from './discovery/source';
import { StaticDirectory } from './discovery/static-endpoints';
import { createPodProxy } from './proxy/proxy';

export { parseConfig, ConfigError, type SvcProxyConfig } from './config';

export interface StartOptions {
  readonly logger?: Logger;
  /** Overrides config.kube (tests point it at a fake API server); ignored with static discovery. */
  readonly kubeConfig?: KubeConfig;
  /** Install SIGTERM/SIGINT handlers (default true; tests pass false). */
  readonly handleSignals?: boolean;
}

export interface SvcProxy {
  readonly url: string;
  readonly server: Server;
  readonly directory: TargetSource;
  readonly obs: Observability;
  shutdown(): Promise<void>;
}

/** The discovery source the configuration asks for; a bad static file throws here, at start-up. */
function createTargetSource(
  config: SvcProxyConfig,
  options: StartOptions,
  logger: Logger,
): TargetSource {
  if (config.discovery.kind === 'static') return new StaticDirectory(config.discovery.file);
  return new Directory(
    options.kubeConfig ?? loadKubeConfig(config.kube),
    { namespaces: config.namespaces, backoff: config.informerBackoff },
    logger.child({ component: 'discovery' }),
  );
}

/**
 * Where an operator reads /debug/vars: the admin port when there is one (the public port then
 * answers 404 for it), by number only: /readyz is public and names no addresses.
 */
function whereVarsAre(config: SvcProxyConfig, obs: Observability): string {
  if (!config.admin) return '/debug/vars';
  const bound = obs.adminServer?.address();
  const port = bound && typeof bound === 'object' ? bound.port : config.admin.port;
  return `/debug/vars on the admin port, ${port}`;
}

export async function start(config: SvcProxyConfig, options: StartOptions = {}): Promise<SvcProxy> {
  const logger = options.logger ?? createLogger('svc-proxy');
  // Before observability installs signal handlers: a bad static file must not leave them behind.
  const directory = createTargetSource(config, options, logger);
  const obs = createObservability({
    service: 'svc-proxy',
    logger,
    admin: config.admin,
    // Set by the container image; shown as conveyor_build_info and in /debug/vars.
    ...(process.env['APP_VERSION'] ? { version: process.env['APP_VERSION'] } : {}),
    handleSignals: options.handleSignals ?? true,
  });
  const codec = new SessionCodec(config.session);
  const podProxy = createPodProxy({
    config,
    directory,
    codec,
    logger: logger.child({ component: 'proxy' }),
    registry: obs.registry,
  });

  obs.addReadinessCheck(
    config.discovery.kind === 'static' ? 'static-endpoints' : 'kubernetes-informers',
    async () => {
      // /readyz is unauthenticated: it says what is not ready, never why (API server errors
      // name service accounts and addresses); the details are in /debug/vars, which is behind
      // sign-in on this port, or on the admin listener only when ADMIN_PORT is set.
      const details = `details: ${whereVarsAre(config, obs)}`;
      if (!directory.synced) throw new Error(`discovery has not completed a list yet (${details})`);
      if (!directory.healthy)
        throw new Error(`discovery is failing, targets may be stale (${details})`);
    },
  );
  obs.setVar('informers', () => directory.status());
  obs.setVar('targets', () => directory.list().length);
  obs.setVar('annotationProblems', () => [...directory.currentProblems()]);
  obs.onShutdown('informers', () => directory.stop());
  obs.onShutdown('pod-proxy', () => podProxy.close());

  // Informers start in the background: an unreachable API server shows in /readyz, and the
  // supervisor keeps retrying, instead of the proxy failing to boot.
  void directory.start();

  const app = createApp({ config, codec, directory, podProxy, obs, logger });
  const server = await obs.listen(app, config.port, config.host);
  serveThrough(server, app, proxyFrontDoor({ config, codec, podProxy, logger }, app));
  server.on('upgrade', (req, socket, head) => podProxy.upgrade(req, socket, head));
  limitConnections(server, config.maxConnections, logger, obs.registry);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    server,
    directory,
    obs,
    shutdown: async () => {
      await obs.shutdown('stop requested');
    },
  };
}

if (require.main === module) {
  let config: SvcProxyConfig;
  try {
    config = parseConfig(process.env);
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(2);
  }
  start(config).catch((error: unknown) => {
    console.error(`svc-proxy failed to start: ${(error as Error).message}`);
    process.exit(1);
  });
}
