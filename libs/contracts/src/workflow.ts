import type { Contract } from './contract';

/** Contracts of the workflow messages (owned by the workflow work; registered in registry.ts). */
export const workflowContracts: readonly Contract[] = [];
