export { createLogger, parseLogLevel, type LoggerOptions, type LogLevel } from './logger';
export {
  createObservability,
  type Lifecycle,
  type Observability,
  type ObservabilityOptions,
  type ShutdownHook,
  type ShutdownOutcome,
} from './observability';
export type { CheckResult, ReadinessCheck, ReadinessReport } from './readiness';
export type { VarGetter, VarValue } from './debug-vars';
export { RESERVED_VARS } from './debug-vars';
export { UNMATCHED_ROUTE, routeTemplate } from './http-metrics';
export { memstats } from './memstats';
export { TimeoutError, withTimeout } from './timeouts';
export type { Logger } from 'pino';
