import { connect } from 'node:net';

/**
 * Writes bytes on a fresh TCP connection and returns what came back, once `done` says the answer
 * is complete or the server closes. For requests Node's own client refuses to send (a `Trailer`
 * header without chunking, say), which are exactly the ones a proxy must survive.
 */
export function rawExchange(
  base: string,
  bytes: string,
  done: (received: string) => boolean = () => false,
): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let out = '';
    const finish = () => {
      socket.destroy();
      resolve(out);
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      out += chunk;
      if (done(out)) finish();
    });
    socket.on('close', finish);
    socket.on('error', finish);
  });
}

/** A full HTTP/1.1 response head has arrived. */
export const headComplete = (received: string): boolean => received.includes('\r\n\r\n');
