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
