import type { IncomingHttpHeaders } from 'node:http';
import WebSocket from 'ws';

export interface WebSocketAttempt {
  /** Set when the handshake succeeded. */
  readonly ws?: WebSocket;
  /** Status of the handshake answer (101 when open). */
  readonly status?: number;
  /** Headers of the handshake answer, 101 or not. */
  readonly headers?: IncomingHttpHeaders;
  readonly body?: string;
}

/** Opens a WebSocket and reports how the handshake went, whatever the answer. */
export function openWebSocket(
  url: string,
  headers: Record<string, string>,
): Promise<WebSocketAttempt> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    let upgradeHeaders: IncomingHttpHeaders | undefined;
    ws.once('upgrade', (res) => (upgradeHeaders = res.headers));
    ws.once('open', () =>
      resolve({ ws, status: 101, ...(upgradeHeaders ? { headers: upgradeHeaders } : {}) }),
    );
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    ws.once('error', () => resolve({}));
  });
}

/** Sends one message and waits for the echo. */
export function echo(ws: WebSocket | undefined, message: string): Promise<string> {
  if (!ws) return Promise.reject(new Error('the WebSocket did not open'));
  return new Promise((resolve) => {
    ws.once('message', (data) => resolve(String(data)));
    ws.send(message);
  });
}
