/**
 * An HTTP client that keeps cookies and follows redirects one hop at a time, like a browser
 * going through a sign-in: enough for svc-proxy plus the identity provider on loopback.
 */
export class Browser {
  readonly cookies = new Map<string, string>();

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0)
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    if (!headers.has('accept')) headers.set('accept', 'text/html,application/xhtml+xml,*/*;q=0.8');
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
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
    return res;
  }

  /** Follows redirects (relative ones too) and returns every URL visited and the last response. */
  async follow(url: string, max = 10): Promise<{ visited: string[]; last: Response }> {
    const visited: string[] = [];
    let current = url;
    for (let i = 0; i < max; i++) {
      visited.push(current);
      const res = await this.request(current);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { visited, last: res };
      await res.arrayBuffer();
      current = new URL(location, current).href;
    }
    throw new Error(`more than ${max} redirects from ${url}: ${visited.join(' → ')}`);
  }
}
