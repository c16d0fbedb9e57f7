import type { Contract } from './contract';

/** Contracts of the checkers messages (owned by the checkers work; registered in registry.ts). */
export const checkersContracts: readonly Contract[] = [];
