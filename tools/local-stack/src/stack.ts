import { join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { createEmbeddedBroker, serveEmbeddedBroker } from '@conveyor/bus';
import { startDevIdentityProvider } from './dev-identity-provider';
import { writeEndpointsFile } from './endpoints-file';
import { stackServices, type Service, type ServiceKind } from './services';
import type { LocalStackSettings } from './settings';
import { startFailure } from './start-errors';
import type { FromServiceThread, ServiceThreadData, ToServiceThread } from './thread-protocol';

export interface StackUrls {
  readonly checkers: string;
  readonly classifier: string;
  readonly classifierWorker: string;
  readonly orchestrator: string;
  readonly svcProxy: string;
  readonly devIdentityProvider: string;
}

export interface RunningStack {
  readonly urls: StackUrls;
  readonly devEmail: string;
  readonly bus: 'embedded' | 'rabbitmq';
  readonly database: 'sqlite' | 'postgres';
  /** Each service's worker thread id (the launcher is thread 0). */
  readonly threads: Readonly<Record<ServiceKind, number>>;
  /** Every service's graceful shutdown, last started first; `clean` is false if any was not. */
  stop(): Promise<{ clean: boolean; failures: string[] }>;
}

export interface StackEvents {
  /** A line for the user before the banner (e.g. that the first start builds the checkers bundles). */
  note(text: string): void;
  /** A service's thread ended while the stack was running (an uncaught error in it). */
  died(failure: string): void;
}

/** One started part of the stack and how to stop it. */
interface Part {
  readonly name: string;
  stop(): Promise<{ clean: boolean; message?: string }>;
}

/** How long a service may take to shut down gracefully before its thread is terminated. */
const STOP_TIMEOUT_MS = 30_000;

/** TypeScript in a worker thread: Node 20 workers ignore the parent's --import loader. */
const THREAD_BOOT = `require('tsx/cjs/api').register(); require(${JSON.stringify(
  join(__dirname, 'service-thread.ts'),
)});`;

interface ServiceThread extends Part {
  readonly service: Service;
  readonly threadId: number;
  /** Resolves with the service's URL once it listens; rejects with the launcher's message. */
  readonly started: Promise<string | undefined>;
}

function startServiceThread(
  service: Service,
  brokerPort: import('node:worker_threads').MessagePort | undefined,
  events: StackEvents,
): ServiceThread {
  const data: ServiceThreadData = {
    spec: service.spec,
    logLevel: service.logLevel,
    ...(brokerPort ? { brokerPort } : {}),
  };
  const worker = new Worker(THREAD_BOOT, {
    eval: true,
    workerData: data,
    transferList: brokerPort ? [brokerPort] : [],
    // The level reaches threads the service starts itself (the checkers engine's), which read
    // LOG_LEVEL from their environment.
    env: { ...process.env, LOG_LEVEL: service.logLevel },
  });
  let stopping = false;
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  let lastError: Error | undefined;
  worker.on('error', (error) => (lastError = error));
  const stopped = new Promise<{ clean: boolean; message?: string }>((resolve) => {
    worker.on('message', (message: FromServiceThread) => {
      if (message.kind === 'stopped')
        resolve({ clean: message.clean, ...(message.message ? { message: message.message } : {}) });
    });
    void exit.then(() =>
      resolve({ clean: false, message: `its thread ended (${lastError?.message ?? 'no error'})` }),
    );
  });
  const started = new Promise<string | undefined>((resolve, reject) => {
    worker.on('message', (message: FromServiceThread) => {
      if (message.kind === 'started') resolve(message.url);
      else if (message.kind === 'failed')
        reject(new Error(startFailure(service.label, message.message, service.port)));
      else if (message.kind === 'note') events.note(message.text);
    });
    void exit.then(() => {
      const reason = lastError?.message ?? 'its thread ended';
      reject(new Error(startFailure(service.label, reason, service.port)));
      if (!stopping) events.died(`${service.label} stopped unexpectedly: ${reason}`);
    });
  });
  started.catch(() => undefined); // observed by startLocalStack
  return {
    name: service.label,
    service,
    threadId: worker.threadId,
    started,
    stop: async () => {
      stopping = true;
      if (exited) return { clean: false, message: 'its thread had already ended' };
      worker.postMessage({ kind: 'stop' } satisfies ToServiceThread);
      const timeout = new Promise<{ clean: boolean; message: string }>((resolve) =>
        setTimeout(
          () => resolve({ clean: false, message: `no shutdown within ${STOP_TIMEOUT_MS} ms` }),
          STOP_TIMEOUT_MS,
        ).unref(),
      );
      const result = await Promise.race([stopped, timeout]);
      // Whatever the service left behind (timers, pools) ends with its thread.
      await worker.terminate();
      return result;
    },
  };
}

async function stopAll(parts: Part[]): Promise<{ clean: boolean; failures: string[] }> {
  const failures: string[] = [];
  for (const part of [...parts].reverse()) {
    try {
      const { clean, message } = await part.stop();
      if (!clean)
        failures.push(`${part.name}: shutdown was not clean (${message ?? 'see its log lines'})`);
    } catch (error) {
      failures.push(`${part.name}: ${(error as Error).message}`);
    }
  }
  return { clean: failures.length === 0, failures };
}

/**
 * Starts every service of the repository, each in its own worker thread (its own event loop:
 * a busy service cannot stall another's requests): the orchestrator (example workflows), the
 * example's TypeScript workers, the classifier's HTTP API and `classify` worker, the checkers
 * game server (engine thread pool) and svc-proxy (static discovery of the services above). This
 * thread hosts the development identity provider for svc-proxy's sign-in and, without
 * AMQP_URL, the embedded broker every service thread joins. On failure, whatever had started is
 * stopped again before the error is thrown (naming every service that failed).
 */
export async function startLocalStack(
  settings: LocalStackSettings,
  events: StackEvents,
): Promise<RunningStack> {
  const parts: Part[] = [];
  const { ports } = settings;
  const broker = settings.amqpUrl ? undefined : createEmbeddedBroker();
  try {
    // Always loopback, whatever HOST is: it signs in anyone who reaches it.
    const idp = await startDevIdentityProvider({
      host: '127.0.0.1',
      port: ports.devIdentityProvider,
      email: settings.devEmail,
    }).catch((error: Error) => {
      throw new Error(
        startFailure('the development identity provider', error.message, {
          variable: 'DEV_IDP_PORT',
          value: ports.devIdentityProvider,
        }),
        { cause: error },
      );
    });
    parts.push({
      name: 'dev identity provider',
      stop: async () => (await idp.stop(), { clean: true }),
    });

    const endpointsFile = join(settings.dataDir, 'svc-proxy', 'endpoints.yaml');
    writeEndpointsFile(
      endpointsFile,
      [
        { service: 'orchestrator', port: ports.orchestrator },
        { service: 'classifier', port: ports.classifier },
        { service: 'classifier-worker', port: ports.classifierWorker },
        { service: 'checkers', port: ports.checkers },
      ],
      settings.reachableHost,
    );

    const threads = stackServices(settings, idp, endpointsFile).map((service) => {
      let brokerPort: import('node:worker_threads').MessagePort | undefined;
      if (broker) {
        const channel = new MessageChannel();
        serveEmbeddedBroker(channel.port1, broker);
        brokerPort = channel.port2;
      }
      const thread = startServiceThread(service, brokerPort, events);
      parts.push(thread);
      return thread;
    });
    // All at once: each loads its own modules (and models) on its own thread.
    const results = await Promise.allSettled(threads.map((t) => t.started));
    const failures = results.flatMap((r) =>
      r.status === 'rejected' ? [(r.reason as Error).message] : [],
    );
    if (failures.length > 0) throw new Error(failures.join('\n'));
    const url = (kind: ServiceKind) => {
      const index = threads.findIndex((t) => t.service.spec.kind === kind);
      const result = results[index];
      return result?.status === 'fulfilled' ? (result.value ?? '') : '';
    };
    return {
      urls: {
        checkers: url('checkers'),
        classifier: url('classifier'),
        classifierWorker: url('classifier-worker'),
        orchestrator: url('orchestrator'),
        svcProxy: url('svc-proxy'),
        devIdentityProvider: idp.issuer,
      },
      devEmail: settings.devEmail,
      bus: broker ? 'embedded' : 'rabbitmq',
      database: settings.databaseUrl ? 'postgres' : 'sqlite',
      threads: Object.fromEntries(threads.map((t) => [t.service.spec.kind, t.threadId])) as Record<
        ServiceKind,
        number
      >,
      stop: () => stopAll(parts),
    };
  } catch (error) {
    await stopAll(parts);
    throw error;
  }
}
