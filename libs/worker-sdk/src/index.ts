export * from './batch';
export * from './errors';
export * from './topology';
export * from './worker';
