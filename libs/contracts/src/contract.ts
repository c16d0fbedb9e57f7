import { z } from 'zod';

/**
 * A message contract: the zod schema (the single source of truth), the literal `type` and
 * `version` every message carries, and documented examples that the contract tests replay.
 * JSON Schema files for workers in other languages are generated from these.
 */
export interface Contract<S extends z.ZodType = z.ZodType> {
  readonly type: string;
  readonly version: number;
  readonly description: string;
  readonly schema: S;
  /** Valid messages: each must parse. */
  readonly examples: readonly z.input<S>[];
  /** Invalid messages: each must fail, with an issue whose path starts with `field`. */
  readonly invalidExamples: readonly { readonly value: unknown; readonly field: string }[];
}

export function defineContract<S extends z.ZodType>(contract: Contract<S>): Contract<S> {
  return contract;
}

/** The `type` + `version` header every message starts with. */
export function messageHeader<T extends string, V extends number>(type: T, version: V) {
  return { type: z.literal(type), version: z.literal(version) };
}

/** One validation problem: where (dotted path, `(root)` for the value itself) and what. */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly errors: readonly FieldError[]; readonly message: string };

/** `payload.items.0.text` — the notation JSON Schema validators in other languages also print. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map((key) => String(key)).join('.');
}

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}

/** `a.b: Invalid input; c: Required` — one line, for logs, HTTP 400 bodies and dead-letter reasons. */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join('; ');
}

/** Validates with any zod schema and never throws: callers branch on `ok`. */
export function parseWithSchema<S extends z.ZodType>(
  schema: S,
  value: unknown,
): ParseResult<z.output<S>> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  const errors = fieldErrors(result.error);
  return { ok: false, errors, message: formatFieldErrors(errors) };
}

/** Validates a message against its contract, e.g. at an HTTP or queue boundary. */
export function parseMessage<S extends z.ZodType>(
  contract: Contract<S>,
  value: unknown,
): ParseResult<z.output<S>> {
  const result = parseWithSchema(contract.schema, value);
  if (result.ok) return result;
  const message = `invalid ${contract.type} v${contract.version} message: ${result.message}`;
  return { ok: false, errors: result.errors, message };
}
