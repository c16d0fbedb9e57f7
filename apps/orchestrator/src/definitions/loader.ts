import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { QueueCatalogDoc, WorkflowDoc, type RetryDoc, type StepDoc } from './document-schema';
import { formatDuration } from './duration';
import { compileExpression, ExpressionSyntaxError, type Expression } from './expressions';
import {
  ON_FAILURE_STEP,
  type JoinPolicy,
  type QueueLimits,
  type RetryPolicy,
  type StepDefinition,
  type WorkflowDefinition,
} from './model';

/** A problem in a definition file, located precisely enough to fix it without guessing. */
export interface DefinitionProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Path inside the document, e.g. `steps.ocr.needs[1]`. */
  readonly path: string;
  readonly message: string;
}

export function formatProblem(p: DefinitionProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

export class DefinitionError extends Error {
  constructor(readonly problems: readonly DefinitionProblem[]) {
    super(
      `invalid workflow definitions:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`,
    );
    this.name = 'DefinitionError';
  }
}

export interface SourceFile {
  readonly file: string;
  readonly text: string;
}

export interface LoadResult {
  readonly definitions: readonly WorkflowDefinition[];
  /** Queue names from queues.yaml, or undefined when there is no catalog (any queue accepted). */
  readonly queues: ReadonlySet<string> | undefined;
  /** Queues with a limit in queues.yaml (the others have none). */
  readonly queueLimits: ReadonlyMap<string, QueueLimits>;
  readonly problems: readonly DefinitionProblem[];
}

export const QUEUE_CATALOG_FILE = 'queues.yaml';

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 3,
  initialMs: 1000,
  maxMs: 60_000,
  multiplier: 2,
  jitter: 0.2,
};
const DEFAULT_CONCURRENCY = 100;

/** Reads every *.yaml / *.yml file of a directory; `queues.yaml` is the queue catalog. */
export function readWorkflowDir(dir: string): SourceFile[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => ({ file: join(dir, f), text: readFileSync(join(dir, f), 'utf8') }));
}

export function loadWorkflowDir(dir: string): LoadResult {
  return loadWorkflowSources(readWorkflowDir(dir));
}

/** Parses and validates definitions; every problem of every file is reported, not just the first. */
export function loadWorkflowSources(
  files: readonly SourceFile[],
  options: { knownWorkflows?: readonly string[] } = {},
): LoadResult {
  const problems: DefinitionProblem[] = [];
  let queues: Set<string> | undefined;
  const queueLimits = new Map<string, QueueLimits>();
  const catalog = files.find(
    (f) => f.file.endsWith(`/${QUEUE_CATALOG_FILE}`) || f.file === QUEUE_CATALOG_FILE,
  );
  if (catalog) {
    const parsed = parseYaml(catalog, problems);
    if (parsed) {
      const result = QueueCatalogDoc.safeParse(parsed.doc.toJS());
      if (result.success) {
        queues = new Set(Object.keys(result.data.queues));
        for (const [name, entry] of Object.entries(result.data.queues)) {
          if (entry?.maxInFlight === undefined && entry?.ratePerSecond === undefined) continue;
          queueLimits.set(name, {
            maxInFlight: entry.maxInFlight,
            ratePerSecond: entry.ratePerSecond,
            // A tenth of a second's worth by default: enough that the time an admission takes
            // does not lower the rate, too little to be felt as a burst by the model service.
            burst:
              entry.burst ??
              (entry.ratePerSecond === undefined
                ? 1
                : Math.max(1, Math.ceil(entry.ratePerSecond / 10))),
          });
        }
      } else reportZod(parsed, result.error, problems);
    }
  }

  const compiled: {
    def: WorkflowDefinition;
    located: Located;
    subRefs: { workflow: string; path: Path }[];
  }[] = [];
  for (const file of files) {
    if (file === catalog) continue;
    const parsed = parseYaml(file, problems);
    if (!parsed) continue;
    const result = WorkflowDoc.safeParse(parsed.doc.toJS());
    if (!result.success) {
      reportZod(parsed, result.error, problems);
      continue;
    }
    const out = compileWorkflow(parsed, result.data, queues, problems);
    if (out) compiled.push({ ...out, located: parsed });
  }

  // Cross-file checks: unique (name, version), sub-workflow references and recursion.
  const byKey = new Map<string, (typeof compiled)[number]>();
  const names = new Set<string>(options.knownWorkflows ?? []);
  for (const entry of compiled) {
    const key = `${entry.def.name}@${entry.def.version}`;
    const other = byKey.get(key);
    if (other) {
      problems.push(
        at(
          entry.located,
          ['version'],
          `workflow ${entry.def.name} version ${entry.def.version} is also defined in ${other.def.file}: bump one version`,
        ),
      );
    } else {
      byKey.set(key, entry);
      names.add(entry.def.name);
    }
  }
  for (const entry of compiled) {
    for (const ref of entry.subRefs) {
      if (!names.has(ref.workflow)) {
        problems.push(
          at(
            entry.located,
            ref.path,
            `unknown workflow "${ref.workflow}": known workflows are ${[...names].sort().join(', ') || '(none)'}`,
          ),
        );
      }
    }
  }
  const graph = new Map<string, string[]>();
  for (const entry of compiled) {
    const list = graph.get(entry.def.name) ?? [];
    list.push(...entry.subRefs.map((r) => r.workflow));
    graph.set(entry.def.name, list);
  }
  const cycle = findCycle(graph);
  if (cycle) {
    const entry = compiled.find((e) => e.def.name === cycle[0]);
    const ref = entry?.subRefs.find((r) => r.workflow === cycle[1]);
    if (entry)
      problems.push(
        at(
          entry.located,
          ref?.path ?? [],
          `workflows call each other in a cycle (${cycle.join(' → ')}): a sub-workflow may not (indirectly) run its caller`,
        ),
      );
  }
  return { definitions: compiled.map((c) => c.def), queues, queueLimits, problems };
}

// ---------------------------------------------------------------------------------------------

type Path = (string | number)[];
interface Located {
  readonly file: string;
  readonly text: string;
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
}

function parseYaml(file: SourceFile, problems: DefinitionProblem[]): Located | undefined {
  const lines = new LineCounter();
  const doc = parseDocument(file.text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
  });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const pos = error.linePos?.[0] ?? { line: 1, col: 1 };
      problems.push({
        file: file.file,
        line: pos.line,
        column: pos.col,
        path: '',
        message: `YAML syntax: ${error.message.split('\n')[0]}`,
      });
    }
    return undefined;
  }
  return { file: file.file, text: file.text, doc, lines };
}

function formatPath(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Locates a path: the value's node when it exists, else the nearest existing parent (e.g. missing keys). */
function at(
  located: Located,
  path: Path,
  message: string,
  offset = 0,
  pointAtKey = false,
): DefinitionProblem {
  let node: unknown = located.doc.contents;
  let best: Node | undefined = located.doc.contents ?? undefined;
  for (const [i, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
      if (!pair) break;
      node = pair.value;
      const last = i === path.length - 1;
      best =
        (!(last && pointAtKey) && (isScalar(pair.value) || isMap(pair.value) || isSeq(pair.value))
          ? pair.value
          : (pair.key as Node)) ?? best;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      if (!node) break;
      best = node as Node;
    } else break;
  }
  let pos = best?.range ? best.range[0] : 0;
  // Inside a multi-line (block) expression, point at the offending line of the expression.
  if (offset > 0 && isScalar(best) && typeof best.value === 'string') {
    const value = best.value;
    const before = value.slice(0, offset);
    const newlines = before.split('\n').length - 1;
    if (best.type === 'BLOCK_LITERAL' || best.type === 'BLOCK_FOLDED') {
      const start = located.lines.linePos(pos);
      const lineStart = located.lines.lineStarts[start.line + newlines];
      const indent = /^ */.exec(located.text.slice(lineStart ?? pos))?.[0].length ?? 0;
      pos = (lineStart ?? pos) + indent + (before.length - before.lastIndexOf('\n') - 1);
    } else if (newlines === 0) {
      pos += offset + (best.type === 'QUOTE_DOUBLE' || best.type === 'QUOTE_SINGLE' ? 1 : 0);
    }
  }
  const { line, col } = located.lines.linePos(pos);
  return { file: located.file, line, column: col, path: formatPath(path), message };
}

function reportZod(located: Located, error: z.ZodError, problems: DefinitionProblem[]): void {
  for (const issue of error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push(
          at(located, [...path, key], `unknown field "${key}"${suggest(key)}`, 0, true),
        );
      }
    } else if (issue.code === 'invalid_type' && !located.doc.hasIn(path)) {
      problems.push(at(located, path, `missing required field "${String(path[path.length - 1])}"`));
    } else {
      problems.push(at(located, path, issue.message));
    }
  }
}

const KNOWN_FIELDS = [
  'needs',
  'queue',
  'workflow',
  'input',
  'when',
  'forEach',
  'concurrency',
  'join',
  'timeout',
  'retry',
  'maxAttempts',
  'backoff',
  'initial',
  'multiplier',
  'jitter',
  'inputSchema',
  'idempotencyKey',
  'defaults',
  'steps',
  'output',
  'onFailure',
  'description',
  'version',
  'name',
];
function suggest(key: string): string {
  const lower = key.toLowerCase();
  const match = KNOWN_FIELDS.find(
    (f) =>
      f.toLowerCase() === lower || f.toLowerCase().replace(/_/g, '') === lower.replace(/[_-]/g, ''),
  );
  return match ? `: did you mean "${match}"?` : '';
}

function retryPolicy(base: RetryPolicy, doc: RetryDoc | undefined): RetryPolicy {
  if (!doc) return base;
  return {
    maxAttempts: doc.maxAttempts ?? base.maxAttempts,
    initialMs: doc.backoff?.initial ?? base.initialMs,
    maxMs: doc.backoff?.max ?? base.maxMs,
    multiplier: doc.backoff?.multiplier ?? base.multiplier,
    jitter: doc.backoff?.jitter ?? base.jitter,
  };
}

const ajv = new Ajv({ allErrors: true, strict: false });

function compileWorkflow(
  located: Located,
  doc: WorkflowDoc,
  queues: ReadonlySet<string> | undefined,
  problems: DefinitionProblem[],
): { def: WorkflowDefinition; subRefs: { workflow: string; path: Path }[] } | undefined {
  const before = problems.length;
  const expr = (path: Path, source: string | undefined): Expression | undefined => {
    if (source === undefined) return undefined;
    try {
      return compileExpression(source);
    } catch (error) {
      if (error instanceof ExpressionSyntaxError)
        problems.push(at(located, path, error.message, error.position));
      else throw error;
      return undefined;
    }
  };
  const defaultRetry = retryPolicy(DEFAULT_RETRY, doc.defaults?.retry);
  const defaultTimeout = doc.defaults?.timeout ?? DEFAULT_TIMEOUT_MS;
  const stepNames = Object.keys(doc.steps);
  if (stepNames.length === 0)
    problems.push(at(located, ['steps'], 'a workflow needs at least one step'));
  const subRefs: { workflow: string; path: Path }[] = [];

  const steps = new Map<string, StepDefinition>();
  for (const [name, step] of Object.entries(doc.steps) as [string, StepDoc][]) {
    const path: Path = ['steps', name];
    const action =
      step.queue !== undefined && step.workflow === undefined
        ? ({ kind: 'queue', queue: step.queue } as const)
        : step.workflow !== undefined && step.queue === undefined
          ? ({ kind: 'workflow', workflow: step.workflow } as const)
          : undefined;
    if (!action) {
      problems.push(
        at(
          located,
          path,
          'a step runs either on a worker `queue` or as a sub-`workflow`: set exactly one of them',
        ),
      );
      continue;
    }
    if (step.queue !== undefined && queues && !queues.has(step.queue)) {
      problems.push(
        at(
          located,
          [...path, 'queue'],
          `unknown queue "${step.queue}": add it to ${QUEUE_CATALOG_FILE} (known: ${[...queues].sort().join(', ')})`,
        ),
      );
    }
    if (step.workflow !== undefined)
      subRefs.push({ workflow: step.workflow, path: [...path, 'workflow'] });
    if (!step.forEach && (step.concurrency !== undefined || step.join !== undefined)) {
      problems.push(
        at(
          located,
          [...path, step.concurrency !== undefined ? 'concurrency' : 'join'],
          '`concurrency` and `join` only apply to a fan-out: add `forEach` or remove them',
        ),
      );
    }
    (step.needs ?? []).forEach((need, i) => {
      if (!(need in doc.steps))
        problems.push(
          at(
            located,
            [...path, 'needs', i],
            `unknown step "${need}": steps are ${stepNames.join(', ')}`,
          ),
        );
      if (need === name)
        problems.push(at(located, [...path, 'needs', i], 'a step cannot need itself'));
    });
    const forEachExpr = expr([...path, 'forEach'], step.forEach);
    const join: JoinPolicy =
      step.join === undefined || step.join === 'all-succeeded'
        ? { kind: 'all-succeeded' }
        : step.join === 'all-done'
          ? { kind: 'all-done' }
          : { kind: 'tolerate', maxFailures: step.join.tolerateFailures };
    steps.set(name, {
      name,
      needs: [...new Set(step.needs ?? [])],
      action,
      input: expr([...path, 'input'], step.input),
      when: expr([...path, 'when'], step.when),
      forEach: forEachExpr
        ? { items: forEachExpr, concurrency: step.concurrency ?? DEFAULT_CONCURRENCY, join }
        : undefined,
      timeoutMs: step.timeout ?? defaultTimeout,
      retry: retryPolicy(defaultRetry, step.retry),
    });
  }

  // Topological order; a cycle is reported on the `needs` of one of its steps.
  const order: StepDefinition[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  let cycleReported = false;
  const visit = (name: string, trail: string[]): void => {
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') {
      if (!cycleReported) {
        cycleReported = true;
        const cycle = [...trail.slice(trail.indexOf(name)), name];
        problems.push(
          at(
            located,
            ['steps', name, 'needs'],
            `dependency cycle: ${cycle.join(' → ')}; a step can only need steps that finish before it`,
          ),
        );
      }
      return;
    }
    const step = steps.get(name);
    if (!step) return;
    state.set(name, 'visiting');
    for (const need of step.needs) visit(need, [...trail, name]);
    state.set(name, 'done');
    order.push(step);
  };
  for (const name of steps.keys()) visit(name, []);

  // Expressions may only read steps that are guaranteed to have finished: the step's ancestors.
  const ancestors = new Map<string, Set<string>>();
  for (const step of order) {
    const set = new Set<string>();
    for (const need of step.needs) {
      set.add(need);
      for (const a of ancestors.get(need) ?? []) set.add(a);
    }
    ancestors.set(step.name, set);
  }
  for (const step of order) {
    const allowed = ancestors.get(step.name) ?? new Set<string>();
    for (const [field, e] of [
      ['input', step.input],
      ['when', step.when],
      ['forEach', step.forEach?.items],
    ] as const) {
      for (const ref of e?.stepRefs ?? []) {
        if (!steps.has(ref))
          problems.push(
            at(
              located,
              ['steps', step.name, field],
              `reads steps.${ref}, but there is no step "${ref}"`,
            ),
          );
        else if (!allowed.has(ref))
          problems.push(
            at(
              located,
              ['steps', step.name, field],
              `reads steps.${ref}, which may not have finished: add "${ref}" to this step's needs`,
            ),
          );
      }
    }
  }

  const output = expr(['output'], doc.output);
  for (const ref of output?.stepRefs ?? []) {
    if (!steps.has(ref))
      problems.push(at(located, ['output'], `reads steps.${ref}, but there is no step "${ref}"`));
  }
  let onFailure: StepDefinition | undefined;
  if (doc.onFailure) {
    if (queues && !queues.has(doc.onFailure.queue)) {
      problems.push(
        at(
          located,
          ['onFailure', 'queue'],
          `unknown queue "${doc.onFailure.queue}": add it to ${QUEUE_CATALOG_FILE}`,
        ),
      );
    }
    onFailure = {
      name: ON_FAILURE_STEP,
      needs: [],
      action: { kind: 'queue', queue: doc.onFailure.queue },
      input: expr(['onFailure', 'input'], doc.onFailure.input),
      when: undefined,
      forEach: undefined,
      timeoutMs: doc.onFailure.timeout ?? defaultTimeout,
      retry: retryPolicy(defaultRetry, doc.onFailure.retry),
    };
  }
  let validateInput: WorkflowDefinition['validateInput'];
  if (doc.inputSchema) {
    try {
      const validate = ajv.compile(doc.inputSchema);
      validateInput = (input) =>
        validate(input)
          ? []
          : (validate.errors ?? []).map((e) => ({
              path: e.instancePath,
              message: `${e.instancePath || 'input'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`,
            }));
    } catch (error) {
      problems.push(
        at(located, ['inputSchema'], `not a valid JSON Schema: ${(error as Error).message}`),
      );
    }
  }
  const idempotencyKey = expr(['idempotencyKey'], doc.idempotencyKey);
  for (const ref of idempotencyKey?.stepRefs ?? []) {
    problems.push(
      at(
        located,
        ['idempotencyKey'],
        `reads steps.${ref}: the idempotency key is computed from the run input only`,
      ),
    );
  }
  if (doc.timeout !== undefined) {
    for (const step of order) {
      if (step.timeoutMs > doc.timeout) {
        problems.push(
          at(
            located,
            ['steps', step.name, 'timeout'],
            `step timeout ${formatDuration(step.timeoutMs)} exceeds the workflow timeout ${formatDuration(doc.timeout)}`,
          ),
        );
      }
    }
  }
  if (problems.length > before) return undefined;

  const dependents = new Map<string, string[]>();
  for (const step of order) {
    for (const need of step.needs)
      dependents.set(need, [...(dependents.get(need) ?? []), step.name]);
  }
  return {
    def: {
      name: doc.name,
      version: doc.version,
      description: doc.description,
      hash: createHash('sha256').update(located.text).digest('hex'),
      source: located.text,
      file: located.file,
      inputSchema: doc.inputSchema,
      validateInput,
      idempotencyKey,
      timeoutMs: doc.timeout,
      steps: order,
      stepsByName: steps,
      dependents,
      output,
      onFailure,
    },
    subRefs,
  };
}

function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  let found: string[] | undefined;
  const visit = (node: string, trail: string[]): void => {
    if (found || state.get(node) === 'done') return;
    if (state.get(node) === 'visiting') {
      found = [...trail.slice(trail.indexOf(node)), node];
      return;
    }
    state.set(node, 'visiting');
    for (const next of graph.get(node) ?? []) visit(next, [...trail, node]);
    state.set(node, 'done');
  };
  for (const node of graph.keys()) visit(node, []);
  return found;
}
