import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

const WARN_EVERY_MS = 10_000;

/**
 * Caps open connections (MAX_CONNECTIONS) so a flood of idle or slow sockets cannot exhaust the
 * proxy's file descriptors and memory. At the cap Node closes each new connection as soon as it
 * is accepted, without reading a request (the client sees a reset or an empty reply); open
 * connections, including WebSockets, are unaffected and new ones are accepted again as soon as
 * any closes. Each drop is counted; a warning is logged at most every ten seconds.
 */
export function limitConnections(
  server: Server,
  maxConnections: number,
  logger: Logger,
  registry: Registry,
): void {
  server.maxConnections = maxConnections;
  const dropped = new Counter({
    name: 'svc_proxy_connections_dropped_total',
    help: 'Connections closed on arrival because MAX_CONNECTIONS were open',
    registers: [registry],
  });
  let lastWarning = 0;
  server.on('drop', (data?: { remoteAddress?: string }) => {
    dropped.inc();
    const now = Date.now();
    if (now - lastWarning < WARN_EVERY_MS) return;
    lastWarning = now;
    logger.warn(
      { maxConnections, remoteAddress: data?.remoteAddress },
      'connection limit reached (MAX_CONNECTIONS): new connections are closed until some end',
    );
  });
}
