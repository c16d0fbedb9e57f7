import {
  adminEnvShape,
  adminListenerFrom,
  checkAdminEnv,
  type AdminListener,
} from '@conveyor/observability';
import { z } from 'zod';

/** The annotation a Service sets to opt in; its value is the pod port (number or port name). */
export const ENDPOINT_PORT_ANNOTATION = 'k8s-svc-proxy.local/endpoint-port';

export const GOOGLE_ENDPOINTS = {
  authorizationURL: 'https://accounts.google.com/o/oauth2/v2/auth',
  tokenURL: 'https://oauth2.googleapis.com/token',
  userProfileURL: 'https://openidconnect.googleapis.com/v1/userinfo',
} as const;

/** Where the proxy gets its view of the cluster. */
export type KubeSource =
  | { readonly kind: 'in-cluster' }
  | { readonly kind: 'kubeconfig'; readonly path: string; readonly context?: string }
  /** KUBECONFIG / ~/.kube/config / in-cluster, in client-node's own order (local development). */
  | { readonly kind: 'default' };

/**
 * Where the proxy learns which pods exist: Kubernetes informers, or a file listing them (for
 * machines without a Kubernetes API, such as the local all-in-one stack).
 */
export type DiscoveryConfig =
  { readonly kind: 'kubernetes' } | { readonly kind: 'static'; readonly file: string };

export interface OAuthConfig {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authorizationURL: string;
  readonly tokenURL: string;
  readonly userProfileURL: string;
}

export interface AccessPolicy {
  /** Lower-cased full addresses. */
  readonly emails: ReadonlySet<string>;
  /** Lower-cased domains; an address matches when the part after its `@` is exactly one of these. */
  readonly domains: ReadonlySet<string>;
}

export interface SessionConfig {
  readonly cookieName: string;
  /** One or more secrets; the highest key seals, all of them unseal (rotation). */
  readonly secrets: Readonly<Record<string, string>>;
  readonly ttlSeconds: number;
  /** Only for plain-HTTP local use: drops the cookie's Secure attribute. */
  readonly insecureCookie: boolean;
}

export interface SvcProxyConfig {
  readonly port: number;
  readonly host: string;
  /**
   * ADMIN_PORT / ADMIN_HOST: the proxy's own /metrics and /debug/* on a listener without
   * sign-in, for Prometheus and the proxy itself inside the cluster; undefined: on PORT.
   */
  readonly admin?: AdminListener | undefined;
  /** The externally visible origin, e.g. https://debug.example.com (callback URL and origin checks). */
  readonly publicUrl: URL;
  readonly oauth: OAuthConfig;
  readonly access: AccessPolicy;
  readonly session: SessionConfig;
  readonly discovery: DiscoveryConfig;
  readonly kube: KubeSource;
  /** Empty: every namespace. */
  readonly namespaces: readonly string[];
  /** Upper bound for one proxied request; must leave room for /debug/pprof/profile?seconds=30. */
  readonly proxyTimeoutMs: number;
  readonly informerBackoff: { readonly initialMs: number; readonly maxMs: number };
  /**
   * Largest HTML body rewritten in one piece (with a Content-Length); bigger HTML pages are
   * rewritten as they stream, so no page holds the event loop for long.
   */
  readonly maxRewriteBytes: number;
  /** server.maxConnections: connections beyond it are closed by Node as soon as they open. */
  readonly maxConnections: number;
  /**
   * Opt-out of the sandbox CSP on proxied responses. All pods share the proxy's origin, so script
   * from one pod could otherwise act with the operator's session against every other pod.
   */
  readonly insecurePodScripts: boolean;
  /**
   * Lets a Prometheus scraper read /metrics with `Authorization: Bearer <token>` instead of a
   * session; undefined keeps /metrics behind sign-in only.
   */
  readonly metricsBearerToken: string | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `svc-proxy configuration is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

const bool = (name: string) =>
  z
    .enum(['true', 'false', '1', '0', ''], {
      error: `${name} must be true or false`,
    })
    .optional()
    .transform((v) => v === 'true' || v === '1');

const int = (name: string, min: number, max: number, fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({
          code: 'custom',
          message: `${name}=${JSON.stringify(v)} must be an integer from ${min} to ${max}`,
        });
        return z.NEVER;
      }
      return n;
    });

const httpUrl = (name: string, fallback?: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const raw = v === undefined || v.trim() === '' ? fallback : v.trim();
      if (raw === undefined) {
        ctx.addIssue({ code: 'custom', message: `${name} is required` });
        return z.NEVER;
      }
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        ctx.addIssue({ code: 'custom', message: `${name}=${JSON.stringify(raw)} is not a URL` });
        return z.NEVER;
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be an http(s) URL, got ${url.protocol}`,
        });
        return z.NEVER;
      }
      return url;
    });

const required = (name: string, hint: string) =>
  z
    .string({ error: `${name} is required (${hint})` })
    .trim()
    .min(1, { error: `${name} is required (${hint})` });

// DNS-1123 label: what Kubernetes accepts as a namespace name.
const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// Deliberately strict: no quoting rules to get wrong when the allow-list is compared.
const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const DOMAIN_RE = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

const envSchema = z.object({
  PORT: int('PORT', 0, 65535, 3004),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  ...adminEnvShape,
  PUBLIC_URL: httpUrl('PUBLIC_URL (the URL operators open, e.g. https://debug.example.com)'),
  GOOGLE_CLIENT_ID: required('GOOGLE_CLIENT_ID', 'the OAuth client id from the Google console'),
  GOOGLE_CLIENT_SECRET: required('GOOGLE_CLIENT_SECRET', 'the OAuth client secret'),
  OAUTH_AUTHORIZATION_URL: httpUrl('OAUTH_AUTHORIZATION_URL', GOOGLE_ENDPOINTS.authorizationURL),
  OAUTH_TOKEN_URL: httpUrl('OAUTH_TOKEN_URL', GOOGLE_ENDPOINTS.tokenURL),
  OAUTH_USERINFO_URL: httpUrl('OAUTH_USERINFO_URL', GOOGLE_ENDPOINTS.userProfileURL),
  ALLOWED_EMAILS: z.string().optional().transform(list),
  ALLOWED_DOMAINS: z.string().optional().transform(list),
  COOKIE_NAME: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? '_svc_proxy' : v))
    .pipe(
      z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, {
        error: 'COOKIE_NAME may only hold letters, digits, "_" and "-"',
      }),
    ),
  COOKIE_SECRET: z
    .string({
      error:
        'COOKIE_SECRET is required: at least 32 random characters (e.g. `openssl rand -base64 32`)',
    })
    .min(32, {
      error: 'COOKIE_SECRET must be at least 32 characters (e.g. `openssl rand -base64 32`)',
    }),
  COOKIE_SECRET_PREVIOUS: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || v.length >= 32, {
      error: 'COOKIE_SECRET_PREVIOUS must be at least 32 characters, or unset',
    }),
  SESSION_TTL_SECONDS: int('SESSION_TTL_SECONDS', 300, 7 * 24 * 3600, 12 * 3600),
  INSECURE_COOKIE: bool('INSECURE_COOKIE'),
  INSECURE_POD_SCRIPTS: bool('INSECURE_POD_SCRIPTS'),
  KUBE_SOURCE: z
    .enum(['in-cluster', 'kubeconfig', 'default', ''], {
      error: 'KUBE_SOURCE must be in-cluster, kubeconfig or default',
    })
    .optional(),
  DISCOVERY: z
    .enum(['kubernetes', 'static', ''], { error: 'DISCOVERY must be kubernetes or static' })
    .optional(),
  STATIC_ENDPOINTS_FILE: z.string().optional(),
  METRICS_BEARER_TOKEN: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || (v.length >= 32 && /^[\x21-\x7e]+$/.test(v)), {
      error:
        'METRICS_BEARER_TOKEN must be at least 32 printable characters without spaces (e.g. `openssl rand -hex 32`), or unset',
    }),
  KUBECONFIG: z.string().optional(),
  KUBE_CONTEXT: z.string().optional(),
  NAMESPACES: z.string().optional().transform(list),
  PROXY_TIMEOUT_SECONDS: int('PROXY_TIMEOUT_SECONDS', 35, 3600, 300),
  INFORMER_BACKOFF_INITIAL_MS: int('INFORMER_BACKOFF_INITIAL_MS', 10, 60_000, 1000),
  INFORMER_BACKOFF_MAX_MS: int('INFORMER_BACKOFF_MAX_MS', 10, 600_000, 30_000),
  MAX_REWRITE_BYTES: int('MAX_REWRITE_BYTES', 1024, 16 * 1024 * 1024, 256 * 1024),
  MAX_CONNECTIONS: int('MAX_CONNECTIONS', 1, 1_000_000, 2048),
});

/**
 * Rules spanning several variables. They read the raw environment rather than the parsed
 * object so they run (and report) even when unrelated variables failed to parse.
 */
function crossFieldProblems(env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const emails = list(env['ALLOWED_EMAILS']);
  const domains = list(env['ALLOWED_DOMAINS']);
  if (emails.length === 0 && domains.length === 0) {
    problems.push(
      'set ALLOWED_EMAILS and/or ALLOWED_DOMAINS (comma-separated): with neither, nobody could sign in',
    );
  }
  for (const e of emails) {
    if (!EMAIL_RE.test(e))
      problems.push(
        `ALLOWED_EMAILS entry ${JSON.stringify(e)} is not an email address with exactly one "@"`,
      );
  }
  for (const d of domains) {
    if (d.startsWith('@') || d.startsWith('*')) {
      problems.push(
        `ALLOWED_DOMAINS entry ${JSON.stringify(d)}: write the bare domain (example.com); subdomains are not matched implicitly`,
      );
    } else if (!DOMAIN_RE.test(d.replace(/[A-Z]+/g, (l) => l.toLowerCase()))) {
      problems.push(`ALLOWED_DOMAINS entry ${JSON.stringify(d)} is not a domain name`);
    }
  }
  for (const ns of list(env['NAMESPACES'])) {
    if (!NAMESPACE_RE.test(ns))
      problems.push(`NAMESPACES entry ${JSON.stringify(ns)} is not a valid namespace name`);
  }
  const insecureCookie = ['true', '1'].includes(env['INSECURE_COOKIE'] ?? '');
  let publicUrl: URL | undefined;
  try {
    publicUrl = new URL(env['PUBLIC_URL'] ?? '');
  } catch {
    publicUrl = undefined; // reported by the schema
  }
  if (publicUrl) {
    if (publicUrl.protocol === 'http:' && !insecureCookie) {
      problems.push(
        `PUBLIC_URL is plain http (${publicUrl.origin}): browsers drop Secure cookies there; use https, or set INSECURE_COOKIE=true for local use only`,
      );
    }
    if (publicUrl.pathname !== '/' || publicUrl.search || publicUrl.hash) {
      problems.push(
        'PUBLIC_URL must be an origin only (scheme, host, port): serving under a sub-path is not supported',
      );
    }
  }
  if (env['METRICS_BEARER_TOKEN']?.trim() && env['ADMIN_PORT']?.trim()) {
    problems.push(
      'METRICS_BEARER_TOKEN and ADMIN_PORT are both set: with ADMIN_PORT, Prometheus scrapes /metrics on the admin port and the public port serves no /metrics; unset METRICS_BEARER_TOKEN',
    );
  }
  if (env['DISCOVERY'] === 'static' && !env['STATIC_ENDPOINTS_FILE']?.trim()) {
    problems.push(
      'DISCOVERY=static needs STATIC_ENDPOINTS_FILE (a YAML or JSON file listing namespace, service, port and pods)',
    );
  }
  if (env['STATIC_ENDPOINTS_FILE']?.trim() && env['DISCOVERY'] !== 'static') {
    problems.push(
      'STATIC_ENDPOINTS_FILE is set but DISCOVERY is not "static": set DISCOVERY=static to use the file, or unset it',
    );
  }
  if (env['KUBE_SOURCE'] === 'kubeconfig' && !env['KUBECONFIG']) {
    problems.push('KUBE_SOURCE=kubeconfig needs KUBECONFIG (path of the kubeconfig file)');
  }
  const initial = Number(env['INFORMER_BACKOFF_INITIAL_MS'] || 1000);
  const max = Number(env['INFORMER_BACKOFF_MAX_MS'] || 30_000);
  if (Number.isFinite(initial) && Number.isFinite(max) && max < initial) {
    problems.push('INFORMER_BACKOFF_MAX_MS must not be below INFORMER_BACKOFF_INITIAL_MS');
  }
  return problems;
}

function kubeSource(env: z.infer<typeof envSchema>): KubeSource {
  switch (env.KUBE_SOURCE) {
    case 'in-cluster':
      return { kind: 'in-cluster' };
    case 'kubeconfig':
      return {
        kind: 'kubeconfig',
        path: env.KUBECONFIG ?? '',
        ...(env.KUBE_CONTEXT ? { context: env.KUBE_CONTEXT } : {}),
      };
    default:
      return { kind: 'default' };
  }
}

/** Parses and validates the environment, reporting every problem at once. */
export function parseConfig(env: NodeJS.ProcessEnv): SvcProxyConfig {
  const result = envSchema.superRefine(checkAdminEnv).safeParse(env);
  const problems = [
    ...(result.success
      ? []
      : result.error.issues.map((issue) =>
          issue.path.length === 0 || issue.message.includes(String(issue.path[0]))
            ? issue.message
            : `${issue.path.join('.')}: ${issue.message}`,
        )),
    ...crossFieldProblems(env),
  ];
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  const env2 = result.data;
  const secrets: Record<string, string> = env2.COOKIE_SECRET_PREVIOUS
    ? { '1': env2.COOKIE_SECRET_PREVIOUS, '2': env2.COOKIE_SECRET }
    : { '1': env2.COOKIE_SECRET };
  return {
    port: env2.PORT,
    host: env2.HOST,
    admin: adminListenerFrom(env2),
    publicUrl: env2.PUBLIC_URL,
    oauth: {
      clientId: env2.GOOGLE_CLIENT_ID,
      clientSecret: env2.GOOGLE_CLIENT_SECRET,
      authorizationURL: env2.OAUTH_AUTHORIZATION_URL.href,
      tokenURL: env2.OAUTH_TOKEN_URL.href,
      userProfileURL: env2.OAUTH_USERINFO_URL.href,
    },
    access: {
      // A–Z only, as decideAccess folds provider addresses (see asciiLowerCase).
      emails: new Set(env2.ALLOWED_EMAILS.map((e) => e.replace(/[A-Z]+/g, (l) => l.toLowerCase()))),
      domains: new Set(env2.ALLOWED_DOMAINS.map((d) => d.toLowerCase())),
    },
    session: {
      cookieName: env2.COOKIE_NAME,
      secrets,
      ttlSeconds: env2.SESSION_TTL_SECONDS,
      insecureCookie: env2.INSECURE_COOKIE,
    },
    discovery:
      env2.DISCOVERY === 'static'
        ? { kind: 'static', file: (env2.STATIC_ENDPOINTS_FILE ?? '').trim() }
        : { kind: 'kubernetes' },
    kube: kubeSource(env2),
    namespaces: env2.NAMESPACES,
    proxyTimeoutMs: env2.PROXY_TIMEOUT_SECONDS * 1000,
    informerBackoff: {
      initialMs: env2.INFORMER_BACKOFF_INITIAL_MS,
      maxMs: env2.INFORMER_BACKOFF_MAX_MS,
    },
    maxRewriteBytes: env2.MAX_REWRITE_BYTES,
    maxConnections: env2.MAX_CONNECTIONS,
    insecurePodScripts: env2.INSECURE_POD_SCRIPTS,
    metricsBearerToken: env2.METRICS_BEARER_TOKEN || undefined,
  };
}
