'use strict';
/* global Graph */
const app = document.getElementById('app');
const esc = (v) =>
  String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
const dur = (ms) => (ms == null ? '' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`);
const size = (chars) =>
  chars < 1024
    ? `${chars} B`
    : chars < 1024 * 1024
      ? `${(chars / 1024).toFixed(1)} KiB`
      : `${(chars / 1024 / 1024).toFixed(1)} MiB`;
const pad = (n) => String(n).padStart(2, '0');
/** Every time on every page: local time, with the date unless it is today; ISO in the tooltip. */
function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const now = new Date();
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const today =
    d.getFullYear() === now.getFullYear() &&
    d.getMonth() === now.getMonth() &&
    d.getDate() === now.getDate();
  const text = today
    ? clock
    : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock}`;
  return `<time datetime="${esc(iso)}" title="${esc(iso)}">${text}</time>`;
}
const label = (status) => String(status ?? '').replace('_', ' ');
/** A message cut to two lines in a table cell; the whole of it in the tooltip. */
const clamped = (message) =>
  message ? `<div class="clamp error" title="${esc(message)}">${esc(message)}</div>` : '';
const badge = (s) => `<span class="status status-${esc(s)}">${esc(label(s))}</span>`;
async function api(path) {
  const res = await fetch(path);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error?.message ?? res.statusText);
  return body;
}

// ---- long text and large JSON ----------------------------------------------------------------
const TEXT_INLINE_CHARS = 1000;
const JSON_INLINE_CHARS = 2000;
const JSON_SHOWN_CHARS = 200_000;
/** JSON shown on the page, by key: rendered on demand and downloadable whole. */
const blocks = new Map();
/** Keys of collapsed blocks the user opened, kept open across live re-renders. */
const opened = new Set();

/** A message that may be long: its start, and the rest behind "show all". */
function longText(text, cls, id) {
  const value = String(text ?? '');
  const attr = `class="${cls}"${id ? ` id="${id}"` : ''}`;
  if (value.length <= TEXT_INLINE_CHARS) return `<p ${attr}>${esc(value)}</p>`;
  return `<div class="${cls} long-text"${id ? ` id="${id}"` : ''}><p>${esc(value.slice(0, TEXT_INLINE_CHARS))}…</p><details><summary>show all ${value.length} characters</summary><p>${esc(value)}</p></details></div>`;
}

/** JSON: small inline; large collapsed with its size, shown on demand, downloadable whole. */
function jsonBlock(value, key, fileName) {
  const text = JSON.stringify(value, null, 2) ?? 'null';
  blocks.set(key, { text, fileName });
  const download = `<button class="download" type="button" data-json="${esc(key)}">Download ${esc(fileName)}</button>`;
  if (text.length <= JSON_INLINE_CHARS)
    return `<pre>${esc(text)}</pre>${text.length > 200 ? download : ''}`;
  const lines = text.split('\n').length;
  const open = opened.has(key);
  return `<details class="json" data-json="${esc(key)}"${open ? ' open' : ''}><summary>JSON <span class="muted json-size">${lines} lines · ${size(text.length)}</span></summary><pre>${open ? esc(shown(text)) : ''}</pre></details>${download}`;
}
const shown = (text) =>
  text.length <= JSON_SHOWN_CHARS
    ? text
    : `${text.slice(0, JSON_SHOWN_CHARS)}\n… (${size(text.length)} in all: download it to see the rest)`;

document.addEventListener(
  'toggle',
  (e) => {
    const box = e.target;
    if (!(box instanceof HTMLDetailsElement) || !box.dataset.json) return;
    const block = blocks.get(box.dataset.json);
    if (box.open) {
      opened.add(box.dataset.json);
      const pre = box.querySelector('pre');
      if (block && pre && !pre.textContent) pre.textContent = shown(block.text);
    } else opened.delete(box.dataset.json);
  },
  true,
);
document.addEventListener('click', (e) => {
  const button = e.target.closest?.('button.download');
  const block = button && blocks.get(button.dataset.json);
  if (!block) return;
  const url = URL.createObjectURL(new Blob([block.text], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = block.fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
});

let stop = () => {};
function route() {
  stop();
  stop = () => {};
  const m = location.hash.match(/^#\/runs\/([^/?]+)/);
  (m ? showRun(decodeURIComponent(m[1])) : showList()).catch(
    (e) => (app.innerHTML = `<p class="error">${esc(e.message)}</p>`),
  );
}
window.addEventListener('hashchange', route);

// ---- list ------------------------------------------------------------------------------------
const filters = { workflow: '', status: '', includeChildren: false };

/** What to show when there are no runs: how to start one (the README's curl). */
function emptyState(workflows) {
  if (filters.workflow || filters.status)
    return '<p class="muted">No runs match these filters.</p>';
  const base = location.origin;
  const sample = workflows.find((w) => w.name === 'document-processing');
  const first = sample ?? workflows[0];
  if (!first)
    return '<p class="muted">No runs yet, and no workflows are loaded: put workflow YAML files in the directory WORKFLOWS_DIR names (see the orchestrator README).</p>';
  const data = sample
    ? '"{\\"input\\": $(cat examples/document-processing/sample/bundle.json), \\"waitMs\\": 60000}"'
    : `'{"input": {}, "waitMs": 60000}'`;
  return `<p>No runs yet. Start one from a shell${sample ? ' at the repository root' : `, with an input that workflow ${esc(first.name)} accepts`}:</p>
<pre id="start-hint">curl -s -X POST ${esc(base)}/api/workflows/${esc(first.name)}/runs \\
  -H 'content-type: application/json' \\
  -d ${esc(data)}</pre>
<p class="muted">It appears here as soon as it starts; the API is described at <a href="openapi.json">/openapi.json</a>.</p>`;
}

async function showList() {
  const { workflows } = await api('/api/workflows');
  app.innerHTML = `
<div class="filters">
  <label>Workflow <select id="f-workflow"><option value="">all</option>${workflows.map((w) => `<option>${esc(w.name)}</option>`).join('')}</select></label>
  <label>Status <select id="f-status"><option value="">all</option>${['running', 'succeeded', 'failed', 'cancelled', 'timed_out'].map((s) => `<option value="${s}">${label(s)}</option>`).join('')}</select></label>
  <label><input type="checkbox" id="f-children"> include sub-workflow runs</label>
</div>
<table id="run-table"><thead><tr><th class="wide-only">Run</th><th>Workflow</th><th>Status</th><th>Started</th><th class="wide-only">Duration</th><th class="wide-only">Error</th></tr></thead><tbody id="runs"></tbody></table>
<div id="empty" class="empty" hidden></div>`;
  const wf = document.getElementById('f-workflow'),
    st = document.getElementById('f-status'),
    ch = document.getElementById('f-children');
  wf.value = filters.workflow;
  st.value = filters.status;
  ch.checked = filters.includeChildren;
  const load = async () => {
    const q = new URLSearchParams({ limit: '100' });
    if (filters.workflow) q.set('workflow', filters.workflow);
    if (filters.status) q.set('status', filters.status);
    if (filters.includeChildren) q.set('includeChildren', 'true');
    const { runs } = await api(`/api/runs?${q}`);
    document.getElementById('runs').innerHTML = runs
      .map(
        (r) =>
          `<tr class="run-row" data-id="${esc(r.id)}"><td class="nowrap wide-only"><a href="#/runs/${esc(r.id)}">${esc(r.id.slice(0, 8))}</a></td><td><a class="narrow-only" href="#/runs/${esc(r.id)}">${esc(r.workflow)} v${r.version}</a><span class="wide-only">${esc(r.workflow)} v${r.version}</span>${r.error ? `<div class="narrow-only">${clamped(r.error.message)}</div>` : ''}</td><td class="nowrap">${badge(r.status)}</td><td class="nowrap">${when(r.createdAt)}</td><td class="nowrap wide-only">${dur(r.durationMs)}</td><td class="wide-only">${clamped(r.error?.message)}</td></tr>`,
      )
      .join('');
    const empty = document.getElementById('empty');
    empty.hidden = runs.length > 0;
    document.getElementById('run-table').hidden = runs.length === 0;
    if (!runs.length) empty.innerHTML = emptyState(workflows);
  };
  const onChange = () => {
    filters.workflow = wf.value;
    filters.status = st.value;
    filters.includeChildren = ch.checked;
    load();
  };
  [wf, st, ch].forEach((el) => el.addEventListener('change', onChange));
  document.getElementById('runs').addEventListener('click', (e) => {
    const row = e.target.closest('tr.run-row');
    if (row) location.hash = `#/runs/${row.dataset.id}`;
  });
  await load();
  const timer = setInterval(() => load().catch(() => {}), 2000);
  stop = () => clearInterval(timer);
}

// ---- run -------------------------------------------------------------------------------------
let selected = null;
let current = null;
async function showRun(id) {
  if (current?.id !== id) selected = null;
  let run = await api(`/api/runs/${encodeURIComponent(id)}`);
  render(run);
  if (run.status === 'running') {
    // Live: every event of this run triggers a (throttled) refresh of the detail.
    const source = new EventSource(`/api/runs/${encodeURIComponent(id)}/events`);
    let pending = null;
    const refresh = () => {
      pending ??= setTimeout(async () => {
        pending = null;
        run = await api(`/api/runs/${encodeURIComponent(id)}`);
        render(run);
      }, 100);
    };
    for (const name of [
      'step.dispatched',
      'step.succeeded',
      'step.failed',
      'step.retrying',
      'step.skipped',
      'run.completed',
    ])
      source.addEventListener(name, refresh);
    source.addEventListener('run.completed', () => source.close());
    document.getElementById('live').textContent = 'live';
    stop = () => {
      source.close();
      document.getElementById('live').textContent = '';
    };
  }
}
let resizeTimer = null;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(
    () => current && location.hash.startsWith('#/runs/') && render(current),
    150,
  );
});

/** The second line of a step's box: its status and what is worth a glance. */
function nodeSub(g, s) {
  if (!s) return `not started${g.queue ? ` · ${g.queue}` : g.workflow ? ` · ${g.workflow}` : ''}`;
  if (s.fanOut)
    return `${label(s.status)} · ${s.fanOut.succeeded + s.fanOut.failed}/${s.fanOut.total} items`;
  if (s.attempt > 1) return `${label(s.status)} · attempt ${s.attempt}`;
  return label(s.status);
}

function render(run) {
  current = run;
  const byStep = new Map(run.steps.map((s) => [s.step, s]));
  const graph = run.graph ?? run.steps.map((s) => ({ name: s.step, needs: [] }));
  const nodes = graph.map((g) => {
    const s = byStep.get(g.name);
    return {
      name: g.name,
      needs: g.needs,
      title: g.name,
      sub: nodeSub(g, s),
      status: s ? s.status : 'not-started',
      selected: selected === g.name,
    };
  });
  const t0 = Date.parse(run.createdAt);
  const t1 = run.finishedAt ? Date.parse(run.finishedAt) : Date.now();
  const span = Math.max(1, t1 - t0);
  const bars = run.steps.map((s) => {
    const start = s.dispatchedAt ? Date.parse(s.dispatchedAt) : Date.parse(s.createdAt);
    const end = s.finishedAt ? Date.parse(s.finishedAt) : t1;
    return `<div class="timeline-row" data-step="${esc(s.step)}"><span title="${esc(s.step)}">${esc(s.step)}</span><div class="bar-track"><div class="bar ${esc(s.status)}" style="left:${((start - t0) / span) * 100}%;width:${((end - start) / span) * 100}%"></div></div><span class="muted">${dur(end - start)}</span></div>`;
  });
  const short = run.id.slice(0, 8);
  app.innerHTML = `
<p><a href="#/">← runs</a></p>
<h2>${esc(run.workflow)} v${run.version} · ${badge(run.status)} <span class="muted" style="font-size:13px">${esc(run.id)}</span></h2>
<p class="muted">started ${when(run.createdAt)} · ${run.finishedAt ? `finished ${when(run.finishedAt)}, after ${dur(run.durationMs)}` : 'running'}${run.parentRunId ? ` · sub-workflow of <a href="#/runs/${esc(run.parentRunId)}">${esc(run.parentRunId.slice(0, 8))}</a>` : ''}</p>
${run.error ? longText(run.error.message, 'error', 'run-error') : ''}
<div class="panel" id="graph-panel"><h3>Steps</h3><div id="graph"></div></div>
<div class="panel"><h3>Timeline</h3>${bars.join('')}</div>
<div id="step-detail"></div>
<div class="grid"><div class="panel" id="run-input"><h3>Run input</h3>${jsonBlock(run.input, 'run-input', `run-${short}-input.json`)}</div><div class="panel" id="run-output"><h3>Run output</h3>${runOutput(run, short)}</div></div>`;
  const box = document.getElementById('graph');
  box.innerHTML = Graph.render(nodes, box.clientWidth, esc);
  box.addEventListener('click', (e) => {
    const node = e.target.closest('.node');
    if (!node) return;
    selected = node.dataset.step;
    render(run);
  });
  if (selected && graph.some((g) => g.name === selected))
    renderStep(
      byStep.get(selected),
      graph.find((g) => g.name === selected),
      run,
    );
}

function runOutput(run, short) {
  if (run.output != null || run.status === 'succeeded')
    return jsonBlock(run.output, 'run-output', `run-${short}-output.json`);
  if (run.status === 'running') return '<p class="muted">Not finished yet.</p>';
  return `<p class="muted">None: the run ${esc(label(run.status))}${run.error ? ' (the error is above)' : ''}.</p>`;
}

/** What the step is, in words: "Sent to queue ocr", "Fan-out of 4 items, each to queue ocr". */
function describeStep(step, g) {
  const queue = step.queue ?? g?.queue;
  const target = queue
    ? `queue ${esc(queue)}`
    : g?.workflow
      ? `a run of sub-workflow ${esc(g.workflow)}`
      : '';
  switch (step.kind) {
    case 'fanout':
      return `Fan-out of ${step.fanOut.total} items${target ? `, each to ${target}` : ''}`;
    case 'workflow':
      return `Runs sub-workflow ${esc(g?.workflow ?? '')}`;
    case 'skip':
      return 'Skipped: its <code>when</code> condition was false';
    default:
      return `Sent to ${target} · attempt ${step.attempt} of ${step.maxAttempts}`;
  }
}

function renderStep(step, g, run) {
  const box = document.getElementById('step-detail');
  const name = g?.name ?? selected;
  if (!step) {
    box.innerHTML = `<div class="panel" id="step-panel"><h3>Step ${esc(name)}</h3><p class="muted">Not started.</p></div>`;
    return;
  }
  const attempts = step.attempts
    .map(
      (a) =>
        `<tr><td>${a.attempt}</td><td class="nowrap">${badge(a.status)}</td><td class="nowrap">${when(a.dispatchedAt)}</td><td class="nowrap">${dur(a.durationMs)}</td><td class="wide-only">${esc(a.workerId ?? '')}</td><td class="wide-only">${clamped(a.error?.message)}</td></tr>`,
    )
    .join('');
  // Columns only when some item has something to show in them, so the table fits a phone.
  const subRuns = step.items?.some((i) => i.childRunId);
  const errors = step.items?.some((i) => i.error);
  const items = step.items
    ? `<h4>Items (${step.fanOut.total}; ${step.fanOut.succeeded} succeeded, ${step.fanOut.failed} failed)</h4><table><thead><tr><th>#</th><th>Status</th><th class="wide-only">Attempt</th><th>Duration</th>${subRuns ? '<th>Sub-run</th>' : ''}${errors ? '<th>Error</th>' : ''}</tr></thead><tbody>${step.items.map((i) => `<tr><td>${i.itemIndex}</td><td class="nowrap">${badge(i.status)}</td><td class="wide-only">${i.attempt}</td><td class="nowrap">${dur(i.durationMs)}</td>${subRuns ? `<td>${i.childRunId ? `<a href="#/runs/${esc(i.childRunId)}">${esc(i.childRunId.slice(0, 8))}</a>` : ''}</td>` : ''}${errors ? `<td>${clamped(i.error?.message)}</td>` : ''}</tr>`).join('')}</tbody></table>${step.itemsTruncated ? `<p class="muted">First ${step.items.length} items only; all of them: <a href="api/runs/${esc(run.id)}/steps/${esc(step.step)}/items">/api/runs/…/steps/${esc(step.step)}/items</a>.</p>` : ''}`
    : '';
  const file = `run-${run.id.slice(0, 8)}-${step.step}`;
  const input =
    step.kind === 'fanout'
      ? '<p class="muted">A fan-out has no input of its own: each item gets one (its item of the list), shown per item in the items API.</p>'
      : step.kind === 'skip'
        ? '<p class="muted">None: the step was skipped.</p>'
        : jsonBlock(step.input, `step-${step.step}-input`, `${file}-input.json`);
  const output =
    step.status === 'succeeded' || step.output != null
      ? jsonBlock(step.output, `step-${step.step}-output`, `${file}-output.json`)
      : `<p class="muted">${['running', 'pending', 'queued', 'waiting_retry'].includes(step.status) ? 'Not finished yet.' : 'None.'}</p>`;
  box.innerHTML = `<div class="panel" id="step-panel"><h3>Step ${esc(step.step)} · ${badge(step.status)}</h3>
<p class="muted">${describeStep(step, g)}${step.progressMessage ? ` · ${esc(step.progressMessage)}` : ''}</p>
${step.queuedReason ? `<p class="queued-reason">Queued: ${esc(step.queuedReason)}</p>` : ''}
${step.error ? longText(step.error.message, 'error') : ''}
${attempts ? `<h4>Attempts</h4><table><thead><tr><th>#</th><th>Status</th><th>Sent</th><th>Duration</th><th class="wide-only">Worker</th><th class="wide-only">Error</th></tr></thead><tbody>${attempts}</tbody></table>` : ''}
${items}
${step.childRunId ? `<p>Sub-workflow run <a href="#/runs/${esc(step.childRunId)}">${esc(step.childRunId)}</a></p>` : ''}
<div class="grid"><div id="step-input"><h4>Step input</h4>${input}</div><div id="step-output"><h4>Step output${step.kind === 'fanout' ? ' (the list of item outputs)' : ''}</h4>${output}</div></div></div>`;
}

route();
