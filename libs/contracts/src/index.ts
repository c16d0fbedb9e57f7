export * from './contract';
export * from './registry';
export * from './workflow';
export * from './classifier';
export * from './checkers';
