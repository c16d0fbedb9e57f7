export { Transition } from './transition';
export { buildRequest } from './dispatch';
export type {
  Applied,
  Ignored,
  KnownOutput,
  LockedRun,
  RunRow,
  TaskRow,
  TransitionDeps,
} from './state';
