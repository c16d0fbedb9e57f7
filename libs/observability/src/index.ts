export { adminEnvShape, adminListenerFrom, checkAdminEnv, type AdminEnv } from './admin-env';
export { createLogger, parseLogLevel, type LoggerOptions, type LogLevel } from './logger';
export {
  ADMIN_ONLY_PATHS,
  createObservability,
  type AdminListener,
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
export { DEFAULT_PROFILE_SECONDS, MAX_PROFILE_SECONDS, parseSeconds } from './pprof/routes';
export { HEAP_SAMPLING_INTERVAL_BYTES, SAMPLE_INTERVAL_MICROS } from './pprof/capture';
