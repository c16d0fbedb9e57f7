import type { Contract } from './contract';

/** Contracts of the classifier messages (owned by the classifier work; registered in registry.ts). */
export const classifierContracts: readonly Contract[] = [];
