import type { Contract } from './contract';
import { checkersContracts } from './checkers';
import { classifierContracts } from './classifier';
import { selfplayContracts } from './selfplay';
import { workflowContracts } from './workflow';

/** Every contract that crosses a service boundary; JSON Schema generation and tests iterate it. */
export const allContracts: readonly Contract[] = [
  ...workflowContracts,
  ...classifierContracts,
  ...checkersContracts,
  ...selfplayContracts,
];
