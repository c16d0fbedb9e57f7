import type { MessagePort } from 'node:worker_threads';
import type { LogLevel } from '@conveyor/observability';
import type { ServiceSpec } from './services';

/** workerData of a service thread. */
export interface ServiceThreadData {
  readonly spec: ServiceSpec;
  readonly logLevel: LogLevel;
  /** The launcher's embedded broker (unset on RabbitMQ): this thread's buses join it. */
  readonly brokerPort?: MessagePort;
}

/** What a service thread tells the launcher. */
export type FromServiceThread =
  | { readonly kind: 'started'; readonly url?: string }
  | { readonly kind: 'failed'; readonly message: string }
  /** A line for the user before the banner (e.g. that a first start builds something). */
  | { readonly kind: 'note'; readonly text: string }
  | { readonly kind: 'stopped'; readonly clean: boolean; readonly message?: string };

/** What the launcher tells a service thread. */
export type ToServiceThread = { readonly kind: 'stop' };
