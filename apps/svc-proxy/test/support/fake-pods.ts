import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

/**
 * A stand-in for a Go service's debug endpoints: expvar's /debug/vars, net/http/pprof's index
 * (relative links, and the 301 from /debug/pprof to /debug/pprof/ that Go's mux sends), a
 * Prometheus /metrics, a slow profile, and a WebSocket echo. It records every request so tests
 * can prove that refused requests never reached a pod.
 */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

const PPROF_INDEX = `<html>
<head>
<title>/debug/pprof/</title>
<style>
.profile-name{
	display:inline-block;
	width:6rem;
}
</style>
</head>
<body>
/debug/pprof/
<br>
<p>Set debug=1 as a query parameter to export in legacy text format</p>
<br>
Types of profiles available:
<table>
<thead><td>Count</td><td>Profile</td></thead>
<tr><td>12</td><td><a href='allocs?debug=1'>allocs</a></td></tr>
<tr><td>0</td><td><a href='block?debug=1'>block</a></td></tr>
<tr><td>9</td><td><a href='goroutine?debug=1'>goroutine</a></td></tr>
<tr><td>12</td><td><a href='heap?debug=1'>heap</a></td></tr>
<tr><td></td><td><a href='profile'>profile</a></td></tr>
<tr><td></td><td><a href='trace'>trace</a></td></tr>
</table>
<a href="goroutine?debug=2">full goroutine stack dump</a>
<br>
<p>
Profile Descriptions:
<ul>
<li><div class=profile-name>allocs: </div> A sampling of all past memory allocations</li>
</ul>
</p>
</body>
</html>
`;

/** Cookies a hostile pod sets: ours, nameless ones, prefixed ones and an origin-wide bomb. */
export const HOSTILE_COOKIES = [
  '_svc_proxy=stolen; Path=/',
  '_SVC_PROXY=stolen; Path=/',
  '__Secure-_svc_proxy=stolen; Path=/; Secure',
  '__Host-pod=1; Path=/; Secure',
  '=nameless; Path=/',
  'noequals',
  `bomb=${'x'.repeat(4000)}; Path=/; Domain=127.0.0.1`,
  'pod_pref=1; Path=/debug; HttpOnly; SameSite=Lax',
];

export class FakePod {
  private server?: Server;
  private wss?: WebSocketServer;
  readonly seen: SeenRequest[] = [];
  /** /big-html: set once everything but the tail is written. */
  bigPageSent = false;
  private releaseBig: () => void = () => undefined;
  private bigPageRelease = new Promise<void>((resolve) => (this.releaseBig = resolve));

  /** Lets /big-html send its tail and finish. */
  releaseBigPage(): void {
    this.releaseBig();
  }

  constructor(
    readonly ip: string,
    readonly name: string,
  ) {}

  async start(port = 0): Promise<number> {
    this.server = createServer((req, res) => {
      this.seen.push({ method: req.method ?? 'GET', url: req.url ?? '', headers: req.headers });
      const url = new URL(req.url ?? '/', 'http://pod');
      const self = `${this.ip}:${this.port}`;
      switch (url.pathname) {
        case '/debug/vars':
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
          res.end(
            `{\n"cmdline": ["/app/server","-pod=${this.name}"],\n"memstats": {"Alloc":1548728,"TotalAlloc":1548728,"Sys":7555088,"NumGC":0},\n"pod": "${this.name}"\n}\n`,
          );
          return;
        case '/debug/pprof':
          // What Go's ServeMux sends for the directory without its slash.
          res.writeHead(301, {
            location: '/debug/pprof/',
            'content-type': 'text/html; charset=utf-8',
          });
          res.end('<a href="/debug/pprof/">Moved Permanently</a>.\n\n');
          return;
        case '/debug/pprof/':
          res.writeHead(200, {
            'content-type': 'text/html; charset=utf-8',
            'x-content-type-options': 'nosniff',
          });
          res.end(PPROF_INDEX);
          return;
        case '/debug/pprof/goroutine':
        case '/debug/pprof/heap':
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(
            `${url.pathname.split('/').pop()} profile: total 9 (debug=${url.searchParams.get('debug') ?? '0'}) from ${this.name}\n`,
          );
          return;
        case '/debug/pprof/profile': {
          // CPU profiles block for ?seconds= before answering.
          const seconds = Number(url.searchParams.get('seconds') ?? '30');
          const timer = setTimeout(() => {
            res.writeHead(200, {
              'content-type': 'application/octet-stream',
              'content-disposition': 'attachment; filename="profile"',
            });
            res.end(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02, 0x03]));
          }, seconds * 1000);
          req.on('close', () => clearTimeout(timer));
          return;
        }
        case '/metrics':
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
          res.end(
            `# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines{pod="${this.name}"} 9\n`,
          );
          return;
        case '/links':
          // Absolute links, an absolute URL back to the pod, a foreign link, a form and a refresh.
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(
            `<!DOCTYPE html><html><head><meta http-equiv="refresh" content="30; url=/links"><link rel=stylesheet href="/static/app.css"></head><body>` +
              `<a href="/debug/vars">vars</a> <a href='http://${self}/debug/pprof/'>pprof</a> <a href="https://example.com/x">ext</a>` +
              `<a href="rel/path">rel</a><img src="/img.png"><form action="/debug/pprof/symbol" method="post"></form>` +
              `<script>var u = "/not/rewritten";</script></body></html>`,
          );
          return;
        case '/redirect-absolute':
          res.writeHead(302, { location: `http://${self}/debug/vars` });
          res.end();
          return;
        case '/redirect-elsewhere':
          res.writeHead(302, { location: 'https://example.com/' });
          res.end();
          return;
        case '/set-cookie':
          res.writeHead(200, {
            'set-cookie': ['_svc_proxy=stolen; Path=/', 'pod_pref=1; Path=/'],
            'content-type': 'text/plain',
          });
          res.end('ok\n');
          return;
        case '/hostile':
          // Everything a compromised pod might send to take over the proxy's origin.
          res.writeHead(200, {
            'content-type': 'text/plain; charset=utf-8',
            'set-cookie': HOSTILE_COOKIES,
            'service-worker-allowed': '/',
            'clear-site-data': '"*"',
            'access-control-allow-origin': 'https://evil.example',
            'access-control-allow-credentials': 'true',
            'timing-allow-origin': '*',
            'strict-transport-security': 'max-age=31536000; includeSubDomains',
            refresh: '0;https://evil.example/',
            'cache-control': 'public, max-age=600, s-maxage=600',
            vary: 'Accept',
          });
          res.end('hostile\n');
          return;
        case '/refresh-local':
          res.writeHead(200, { 'content-type': 'text/plain', refresh: '5; url=/debug/vars' });
          res.end('soon\n');
          return;
        case '/redirect-to':
          res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
          res.end();
          return;
        case '/big-html': {
          // A large page (?mib=) with absolute links everywhere, held open before its tail until
          // releaseBigPage(), so a test can look at what the client got while the page is in flight.
          this.bigPageSent = false;
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          const line = '<a href="/debug/vars">v</a><a href="heap">h</a>\n';
          const block = line.repeat(Math.ceil(65536 / line.length));
          const total = Number(url.searchParams.get('mib') ?? '15') * 1024 * 1024;
          let sent = 0;
          const pump = () => {
            while (sent < total) {
              sent += block.length;
              if (!res.write(block)) {
                res.once('drain', pump);
                return;
              }
            }
            this.bigPageSent = true;
            void this.bigPageRelease.then(() =>
              res.end('<a href="/tail">tail</a></body></html>\n'),
            );
          };
          res.write('<!DOCTYPE html><html><body>\n');
          pump();
          return;
        }
        case '/echo-body':
          // The request body straight back, streamed (with backpressure) both ways.
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          req.pipe(res);
          return;
        case '/echo':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
          return;
        default:
          res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('404 page not found\n');
      }
    });
    this.wss = new WebSocketServer({ noServer: true });
    this.wss.on('headers', (headers, req) => {
      if (req.url === '/ws-hostile')
        headers.push(...HOSTILE_COOKIES.map((c) => `Set-Cookie: ${c}`), 'Clear-Site-Data: "*"');
    });
    this.server.on('upgrade', (req, socket, head) => {
      this.seen.push({ method: 'UPGRADE', url: req.url ?? '', headers: req.headers });
      if (req.url === '/ws-refuse') {
        // A non-101 answer to the handshake, with the same hostile headers.
        socket.end(
          `HTTP/1.1 403 Forbidden\r\n${HOSTILE_COOKIES.map((c) => `Set-Cookie: ${c}\r\n`).join('')}` +
            `Clear-Site-Data: "*"\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nno\n`,
        );
        return;
      }
      if (req.url === '/ws-redirect') {
        socket.end('HTTP/1.1 302 Found\r\nLocation: //evil.example/\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      if (req.url !== '/ws' && req.url !== '/ws-hostile') {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      this.wss?.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data) => ws.send(`${this.name}: ${String(data)}`));
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, this.ip, () => resolve());
    });
    return this.port;
  }

  get port(): number {
    return (this.server?.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.releaseBig();
    for (const client of this.wss?.clients ?? []) client.terminate();
    this.wss?.close();
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }
}
