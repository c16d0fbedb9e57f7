/**
 * A minimal browser: a cookie jar keyed by cookie name (enough for one proxy origin plus the
 * provider) and manual redirects, so tests see every hop of the sign-in flow.
 */
export interface Hop {
  readonly status: number;
  readonly location: string | null;
  readonly url: string;
}

export class Browser {
  readonly cookies = new Map<string, string>();

  cookieHeader(): string | undefined {
    return this.cookies.size > 0
      ? [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
      : undefined;
  }

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader();
    if (cookie && !headers.has('cookie')) headers.set('cookie', cookie);
    if (!headers.has('accept')) headers.set('accept', 'text/html,application/xhtml+xml,*/*;q=0.8');
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a),
      );
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** Follows redirects (resolving relative Locations) and returns every hop plus the last response. */
  async follow(
    url: string,
    opts: { max?: number; authorizeHint?: string } = {},
  ): Promise<{ hops: Hop[]; last: Response }> {
    const hops: Hop[] = [];
    let current = url;
    for (let i = 0; i < (opts.max ?? 10); i++) {
      if (opts.authorizeHint && /\/authorize\?/.test(current)) {
        const u = new URL(current);
        u.searchParams.set('login_hint', opts.authorizeHint);
        current = u.href;
      }
      const res = await this.request(current);
      const location = res.headers.get('location');
      hops.push({ status: res.status, location, url: current });
      if (res.status < 300 || res.status >= 400 || !location) return { hops, last: res };
      await res.arrayBuffer();
      current = new URL(location, current).href;
    }
    throw new Error(`too many redirects from ${url}: ${JSON.stringify(hops)}`);
  }
}
