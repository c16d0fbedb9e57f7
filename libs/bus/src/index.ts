export * from './definitions';
export * from './transport';
