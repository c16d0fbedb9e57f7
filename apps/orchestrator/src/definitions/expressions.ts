import jsonata from 'jsonata';

/**
 * Step templating uses JSONata: a standard, well-kept expression language for JSON with object
 * construction, filtering, mapping and aggregation — what JSONPath lacks — and a parser that
 * reports error positions, so a bad expression is rejected at load time with line and column.
 */
export interface Expression {
  readonly source: string;
  /** Names X of every `steps.X` the expression reads: checked against the step's dependencies. */
  readonly stepRefs: readonly string[];
  /**
   * Set when the whole expression is a bare reference, `steps.X` or `input`, whose value is
   * X's output or the run input as is: what a worker can reproduce without JSONata (chains).
   */
  readonly reference: Reference | undefined;
  evaluate(context: ExpressionContext): Promise<unknown>;
}

export type Reference =
  { readonly kind: 'step'; readonly step: string } | { readonly kind: 'input' };

/** The variables an expression sees. */
export interface ExpressionContext {
  input: unknown;
  /** Output of each finished upstream step (a fan-out's output is the array of item outputs). */
  steps: Record<string, unknown>;
  /** The current item and its index inside a fan-out step's `input`. */
  item?: unknown;
  index?: number;
  run: { id: string; workflow: string; version: number };
  /** In `onFailure.input`: the error that failed the run. */
  error?: unknown;
}

export class ExpressionSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

export function compileExpression(source: string): Expression {
  let compiled: jsonata.Expression;
  try {
    compiled = jsonata(source);
  } catch (error) {
    const e = error as { message?: string; position?: number; token?: string };
    throw new ExpressionSyntaxError(
      `invalid JSONata expression: ${e.message ?? String(error)}${e.token ? ` (at token "${e.token}")` : ''}`,
      // JSONata reports the index just past the offending token.
      typeof e.position === 'number' ? Math.max(0, e.position - 1) : 0,
    );
  }
  const stepRefs = new Set<string>();
  collectStepRefs(compiled.ast(), stepRefs);
  const reference = bareReference(compiled.ast());
  return {
    source,
    stepRefs: [...stepRefs],
    reference,
    // A bare reference is a lookup: JSONata's evaluator costs more than the rest of a chain
    // link's transaction, and returns the same (checked in chain-links.spec.ts). The value came
    // from JSON already (a message or a column), so it is not copied through JSON again.
    evaluate: reference
      ? async (context) =>
          (reference.kind === 'input'
            ? context.input
            : Object.hasOwn(context.steps, reference.step)
              ? context.steps[reference.step]
              : undefined) ?? null
      : async (context) => normalise(await compiled.evaluate(context)),
  };
}

/** JSONata returns sequences (arrays with extra props) and `undefined` for "no match". */
function normalise(value: unknown): unknown {
  if (value === undefined) return null;
  return JSON.parse(JSON.stringify(value)) as unknown;
}

function collectStepRefs(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const child of node) collectStepRefs(child, out);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  if (record.type === 'path' && Array.isArray(record.steps)) {
    const [first, second] = record.steps as { type?: string; value?: unknown }[];
    if (
      first?.type === 'name' &&
      first.value === 'steps' &&
      second?.type === 'name' &&
      typeof second.value === 'string'
    ) {
      out.add(second.value);
    }
  }
  for (const value of Object.values(record)) collectStepRefs(value, out);
}

/** `steps.X` or `input` with nothing else: no filter, no `[]`, no variable, no block. */
function bareReference(node: unknown): Reference | undefined {
  const path = node as { type?: string; steps?: unknown[] } & Record<string, unknown>;
  if (path.type !== 'path' || !Array.isArray(path.steps)) return undefined;
  if (Object.keys(path).some((k) => k !== 'type' && k !== 'steps' && k !== 'position'))
    return undefined;
  const names: string[] = [];
  for (const step of path.steps as Record<string, unknown>[]) {
    if (step.type !== 'name' || typeof step.value !== 'string') return undefined;
    if (Object.keys(step).some((k) => k !== 'type' && k !== 'value' && k !== 'position'))
      return undefined;
    names.push(step.value);
  }
  if (names.length === 1 && names[0] === 'input') return { kind: 'input' };
  if (names.length === 2 && names[0] === 'steps' && names[1])
    return { kind: 'step', step: names[1] };
  return undefined;
}
