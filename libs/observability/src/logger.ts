import { pino, type DestinationStream, type Level, type Logger } from 'pino';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = Level | 'silent';

export interface LoggerOptions {
  /** Overrides LOG_LEVEL. */
  level?: string;
  /** Overrides LOG_PRETTY: human-readable, coloured lines (development only). */
  pretty?: boolean;
  /** Where JSON lines go (default: stdout). Tests pass a stream to capture them. */
  destination?: DestinationStream;
  /** Extra fields on every line (e.g. a worker id). */
  base?: Record<string, unknown>;
  /** Environment to read LOG_LEVEL / LOG_PRETTY from (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

export function parseLogLevel(value: string | undefined, source = 'LOG_LEVEL'): LogLevel {
  if (value === undefined || value === '') return 'info';
  const level = value.trim().toLowerCase();
  if ((LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new Error(
    `${source}=${JSON.stringify(value)} is not a log level: use one of ${LEVELS.join(', ')}`,
  );
}

/**
 * A JSON logger whose every line names the service. Levels are written as labels ("info"), not
 * pino's numbers, so log queries read naturally. Pretty output is opt-in only: it is slower and
 * breaks log shipping, so it must never be on by accident in a container.
 */
export function createLogger(service: string, options: LoggerOptions = {}): Logger {
  if (!service) throw new Error('createLogger: service name is required');
  const env = options.env ?? process.env;
  const level = parseLogLevel(
    options.level ?? env['LOG_LEVEL'],
    options.level ? 'level' : 'LOG_LEVEL',
  );
  const pretty =
    options.pretty ?? ['1', 'true', 'yes'].includes((env['LOG_PRETTY'] ?? '').toLowerCase());
  const loggerOptions = {
    level,
    base: { service, pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (options.destination) return pino(loggerOptions, options.destination);
  if (pretty) {
    // pino-pretty used as an in-process stream, not as a pino transport: transports load files
    // in worker threads by path, which breaks once an app is bundled into one file by esbuild.
    const pinoPretty = require('pino-pretty') as (
      opts: Record<string, unknown>,
    ) => DestinationStream;
    return pino(
      loggerOptions,
      pinoPretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', sync: true }),
    );
  }
  // Synchronous writes: pino's default asynchronous stdout lets the exit-time flush overtake a
  // write still in flight, so the last lines before process.exit (the shutdown steps, a fatal
  // error) could come out of order or be lost. Order and completeness matter more here than the
  // few microseconds per line an asynchronous write saves.
  return pino(loggerOptions, pino.destination({ dest: 1, sync: true }));
}
