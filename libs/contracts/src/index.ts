export * from './contract';
export * from './json-schema';
export * from './registry';
export * from './workflow';
export * from './ids';
export * from './classifier';
export * from './checkers';
export * from './selfplay';
