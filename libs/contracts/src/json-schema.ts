import { z } from 'zod';
import type { Contract } from './contract';

/** `<type>.v<version>.json`: one file per contract version, so old versions stay published. */
export function schemaFileName(contract: Pick<Contract, 'type' | 'version'>): string {
  return `${contract.type}.v${contract.version}.json`;
}

/**
 * The JSON Schema (draft 2020-12) a worker in another language validates against. It describes
 * the wire form — what a producer must send (`io: 'input'`: defaults are optional) — and
 * carries the contract's examples, so the file alone documents the message.
 */
export function contractJsonSchema(contract: Contract): Record<string, unknown> {
  let generated: Record<string, unknown>;
  try {
    // 'throw': a type JSON cannot carry must fail loudly, not become a schema accepting anything.
    generated = z.toJSONSchema(contract.schema, {
      io: 'input',
      unrepresentable: 'throw',
    }) as Record<string, unknown>;
  } catch (err) {
    throw new Error(
      `contract ${contract.type} v${contract.version} cannot be expressed as JSON Schema ` +
        `(${err instanceof Error ? err.message : String(err)}); use wire types, ` +
        'e.g. z.iso.datetime() instead of z.date()',
    );
  }
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: schemaFileName(contract),
    title: `${contract.type} v${contract.version}`,
    description: contract.description,
    ...rest,
    examples: contract.examples,
  };
}

/** File name → file content for every contract; the generator writes these, the test compares. */
export function renderJsonSchemaFiles(contracts: readonly Contract[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const contract of contracts) {
    const name = schemaFileName(contract);
    if (files.has(name)) {
      throw new Error(
        `two contracts are registered as ${contract.type} v${contract.version}; bump one's version`,
      );
    }
    files.set(name, `${JSON.stringify(contractJsonSchema(contract), null, 2)}\n`);
  }
  return files;
}
