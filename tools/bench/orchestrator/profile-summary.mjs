// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by where the code
// lives (SQLite, PostgreSQL client, AMQP, kysely, zod, engine, Node internals…), as shares of
// the busy (non-idle) time; the first SKIP seconds (start-up: tsx compiling the sources) are
// left out. Usage: node tools/bench/orchestrator/profile-summary.mjs FILE [TOP] [SKIP]
import { readFileSync } from 'node:fs';

const [file, topArg, skipArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-summary.mjs FILE.cpuprofile [TOP] [SKIP]');
  process.exit(2);
}
const top = Number(topArg ?? 40);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const skipUs = Number(skipArg ?? 0) * 1e6;
const dt = new Map();
let elapsed = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  elapsed += profile.timeDeltas[i] ?? 0;
  if (elapsed < skipUs) continue;
  dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}

const categories = [
  ['idle', (f, u) => f === '(idle)'],
  ['gc', (f) => f === '(garbage collector)'],
  ['program (native, unattributed)', (f) => f === '(program)'],
  ['better-sqlite3', (f, u) => u.includes('better-sqlite3')],
  ['pg client', (f, u) => /node_modules\/(pg|pg-protocol|pg-pool|pg-types)\//.test(u)],
  ['kysely', (f, u) => u.includes('kysely')],
  ['zod', (f, u) => u.includes('/zod/')],
  ['amqplib', (f, u) => u.includes('amqplib')],
  ['bus', (f, u) => u.includes('libs/bus')],
  ['worker-sdk/contracts', (f, u) => u.includes('libs/worker-sdk') || u.includes('libs/contracts')],
  ['jsonata', (f, u) => u.includes('jsonata')],
  ['prom-client', (f, u) => u.includes('prom-client')],
  ['pino', (f, u) => u.includes('pino')],
  ['http (express, node:http)', (f, u) => /express|body-parser|router|_http_|node:http/.test(u)],
  ['engine', (f, u) => u.includes('apps/orchestrator/src/engine')],
  ['store', (f, u) => u.includes('apps/orchestrator/src/store')],
  ['orchestrator other', (f, u) => u.includes('apps/orchestrator')],
  ['node internals', (f, u) => u.startsWith('node:') || u === ''],
  ['other node_modules', (f, u) => u.includes('node_modules')],
  ['other', () => true],
];

const fnTotals = new Map();
const catTotals = new Map();
let busy = 0;
let total = 0;
for (const [id, us] of dt) {
  const node = byId.get(id);
  const f = node.callFrame.functionName || '(anonymous)';
  const u = node.callFrame.url || '';
  total += us;
  const cat = categories.find(([, test]) => test(f, u))[0];
  catTotals.set(cat, (catTotals.get(cat) ?? 0) + us);
  if (cat === 'idle') continue;
  busy += us;
  const key = `${f} ${u.replace(/^.*\/(node_modules|apps|libs)\//, '$1/')}:${node.callFrame.lineNumber + 1}`;
  fnTotals.set(key, (fnTotals.get(key) ?? 0) + us);
}
const pct = (us) => ((100 * us) / busy).toFixed(1).padStart(5);
console.log(`total ${(total / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s\n`);
for (const [cat, us] of [...catTotals].sort((a, b) => b[1] - a[1]))
  if (cat !== 'idle') console.log(`${pct(us)} %  ${cat}`);
console.log('');
for (const [key, us] of [...fnTotals].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`${pct(us)} %  ${key}`);

// Inclusive time: each sample counts once for every distinct function on its stack.
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const keyOf = (node) =>
  `${node.callFrame.functionName || '(anonymous)'} ${(node.callFrame.url || '').replace(/^.*\/(node_modules|apps|libs)\//, '$1/')}:${node.callFrame.lineNumber + 1}`;
const inclusive = new Map();
for (const [id, us] of dt) {
  if (byId.get(id).callFrame.functionName === '(idle)') continue;
  const seen = new Set();
  for (let n = id; n !== undefined; n = parent.get(n)) {
    const key = keyOf(byId.get(n));
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + us);
  }
}
console.log('\ninclusive:');
for (const [key, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`${pct(us)} %  ${key}`);
