import http from 'node:http';

export interface BrowserResponse {
  readonly url: string;
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/**
 * An HTTP client that keeps cookies and follows redirects one hop at a time, like a browser
 * going through a sign-in. `ingress` maps a public origin (svc-proxy's PUBLIC_URL) to the pod's
 * address, sending the public Host header, as an Ingress controller would: the manifests'
 * PUBLIC_URL is kept as it is.
 */
export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(private readonly ingress: ReadonlyMap<string, string> = new Map()) {}

  request(
    url: string,
    init: { method?: string; headers?: Record<string, string> } = {},
  ): Promise<BrowserResponse> {
    const target = new URL(url);
    const via = this.ingress.get(target.origin);
    const connectTo = via ? new URL(via) : target;
    const headers: Record<string, string> = {
      accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
      host: target.host,
      ...init.headers,
    };
    if (this.cookies.size > 0)
      headers['cookie'] = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: connectTo.hostname,
          port: connectTo.port || 80,
          path: `${target.pathname}${target.search}`,
          method: init.method ?? 'GET',
          headers,
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            for (const line of res.headers['set-cookie'] ?? []) this.keep(line);
            resolve({
              url,
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 30 s`)));
      req.on('error', reject);
      req.end();
    });
  }

  private keep(line: string): void {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attributes.some(
      (a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a),
    );
    if (expired || value === '') this.cookies.delete(name);
    else this.cookies.set(name, value);
  }

  /** Follows redirects (relative ones too); every URL visited and the last response. */
  async follow(url: string, max = 10): Promise<{ visited: string[]; last: BrowserResponse }> {
    const visited: string[] = [];
    let current = url;
    for (let i = 0; i < max; i++) {
      visited.push(current);
      const res = await this.request(current);
      const location = res.headers.location;
      if (res.status < 300 || res.status >= 400 || !location) return { visited, last: res };
      current = new URL(location, current).href;
    }
    throw new Error(`more than ${max} redirects from ${url}: ${visited.join(' → ')}`);
  }
}
