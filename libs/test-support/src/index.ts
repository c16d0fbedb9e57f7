/** @conveyor/test-support: real processes and ports for integration tests and benchmarks. */
export { freePort } from './free-port';
export type { LoggedProcess, SpawnOptions } from './logged-process';
export { spawnLogged, spawnTs } from './logged-process';
export type { OrchestratorProcessOptions } from './orchestrator-process';
export {
  listeningBase,
  ORCHESTRATOR_READY,
  spawnOrchestrator,
  startOrchestrator,
} from './orchestrator-process';
export { readCounter } from './metrics';
