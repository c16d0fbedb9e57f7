import type { ServerResponse } from 'node:http';
import type { Target } from '../discovery/targets';
import { proxyPathFor } from '../proxy/route';
import { html, raw, sendPage, type RawHtml } from './html';

/** The debug pages Go services usually expose; each pod row links to them. */
export const COMMON_DEBUG_PATHS = ['/debug/vars', '/debug/pprof/', '/metrics'] as const;

export function targetRows(targets: readonly Target[]): RawHtml {
  if (targets.length === 0) {
    return html`<tr>
      <td colspan="7" class="muted">No ready pods behind annotated services yet.</td>
    </tr>`;
  }
  return html`${targets.map(
    (t) =>
      html`<tr>
        <td>${t.namespace}</td>
        <td>${t.service}</td>
        <td>${t.pod}</td>
        <td><code>${t.ip}:${t.port}</code></td>
        <td>${t.node ?? ''}</td>
        <td>${t.ready ? 'yes' : 'no'}</td>
        <td>${COMMON_DEBUG_PATHS.map((p) => html`<a href="${proxyPathFor(t, p)}">${p}</a> `)}</td>
      </tr>`,
  )}`;
}

// Re-renders the table from the server-sent events stream; the server sends the rows as HTML it
// escaped itself, so this script never builds markup from cluster data.
const LIVE_SCRIPT = `
const rows = document.getElementById('rows');
const status = document.getElementById('live');
const events = new EventSource('/api/targets/events');
events.addEventListener('rows', (e) => { rows.innerHTML = JSON.parse(e.data).html; status.textContent = 'live'; });
events.onerror = () => { status.textContent = 'reconnecting…'; };
`;

export function landingPage(res: ServerResponse, email: string, targets: readonly Target[]): void {
  sendPage(
    res,
    200,
    'Pods',
    (nonce) =>
      html`<h1>Debug pages of annotated services</h1>
        <div class="muted">
          Signed in as ${email} ·
          <form method="post" action="/oauth2/sign_out">
            <button type="submit">Sign out</button>
          </form>
          · <span id="live">static</span>
        </div>
        <p></p>
        <table>
          <thead>
            <tr>
              <th>Namespace</th>
              <th>Service</th>
              <th>Pod</th>
              <th>Address</th>
              <th>Node</th>
              <th>Ready</th>
              <th>Debug pages</th>
            </tr>
          </thead>
          <tbody id="rows">
            ${targetRows(targets)}
          </tbody>
        </table>
        <script nonce="${nonce}">
          ${raw(LIVE_SCRIPT)};
        </script>`,
  );
}

export function errorPage(
  res: ServerResponse,
  status: number,
  title: string,
  message: string,
  retry?: string,
): void {
  sendPage(
    res,
    status,
    title,
    () =>
      html`<h1>${title}</h1>
        <p>${message}</p>
        ${retry ? html`<p><a href="${retry}">Try again</a></p>` : ''}
        <p><a href="/">Landing page</a></p>`,
  );
}

export function signOutPage(res: ServerResponse, email: string | undefined): void {
  sendPage(res, 200, 'Sign out', () =>
    email
      ? html`<h1>Sign out</h1>
          <p>Signed in as ${email}.</p>
          <form method="post" action="/oauth2/sign_out">
            <button type="submit">Sign out</button>
          </form>`
      : html`<h1>Not signed in</h1>
          <p><a href="/">Sign in</a></p>`,
  );
}

export function signedOutPage(res: ServerResponse): void {
  sendPage(
    res,
    200,
    'Signed out',
    () =>
      html`<h1>Signed out</h1>
        <p><a href="/">Sign in again</a></p>`,
  );
}

/**
 * Shown instead of starting a CPU profile or trace when the request came from another site
 * (or from a sandboxed pod page, whose opaque origin browsers report as cross-site): the link
 * here is same-origin, so following it is an operator's deliberate click.
 */
export function crossSiteProfilePage(res: ServerResponse, path: string): void {
  sendPage(
    res,
    403,
    'Confirm profile',
    () =>
      html`<h1>Start this profile?</h1>
        <p>
          <code>${path}</code> makes the process behind it (a pod, or svc-proxy itself) record a CPU
          profile or execution trace, which costs it CPU time for as long as it runs. The link was
          followed from another site or from a pod's own page, so svc-proxy did not start it on its
          own.
        </p>
        <p><a href="${path}">Start it</a> · <a href="/">Landing page</a></p>`,
  );
}
