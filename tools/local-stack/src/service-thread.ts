// Entry point of one service's worker thread (started by stack.ts): starts the service described
// by workerData, reports where it listens, and shuts it down gracefully when told to.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { createBus, joinEmbeddedBroker } from '@conveyor/bus';
import { createLogger } from '@conveyor/observability';
import { startStepWorker } from '@conveyor/worker-sdk';
import {
  checkers,
  classifier,
  documentProcessingExample,
  orchestrator,
  svcProxy,
  type StartedApp,
} from './app-modules';
import { extractFieldsHandler } from './extract-fields';
import type { ServiceSpec } from './services';
import type { FromServiceThread, ServiceThreadData, ToServiceThread } from './thread-protocol';

interface StartedService {
  readonly url?: string;
  stop(): Promise<{ clean: boolean }>;
}

async function startService(
  spec: ServiceSpec,
  data: ServiceThreadData,
  note: (text: string) => void,
): Promise<StartedService> {
  const level = data.logLevel;
  const fromApp = (app: StartedApp) => {
    // Which thread serves it, on its /debug/vars: one event loop per service (tests check it).
    app.obs.setVar('localStack', { service: spec.kind, threadId, pid: process.pid });
    return { url: app.url, stop: () => app.obs.shutdown('local stack stopping') };
  };
  switch (spec.kind) {
    case 'orchestrator':
      return fromApp(
        await orchestrator.start(orchestrator.configFromEnv(spec.env), {
          logger: createLogger('orchestrator', { level }),
          handleSignals: false,
        }),
      );
    case 'classifier-worker':
      return fromApp(
        await classifier.startWorker(classifier.loadConfig(spec.env), { handleSignals: false }),
      );
    case 'classifier':
      return fromApp(
        await classifier.start(classifier.loadConfig(spec.env), { handleSignals: false }),
      );
    case 'example-workers': {
      const logger = createLogger('document-processing-workers', { level });
      const bus = await createBus({
        ...(spec.amqpUrl ? { url: spec.amqpUrl } : {}),
        logger,
        connectionName: `${spec.queuePrefix}local-stack-example-workers`,
      });
      try {
        const workers = await startStepWorker({
          bus,
          logger,
          queueType: spec.stepQueueType,
          handlers: [
            ...documentProcessingExample.handlers({
              logger,
              withClassify: false,
              queuePrefix: spec.queuePrefix,
            }),
            extractFieldsHandler(spec.queuePrefix),
          ],
        });
        return {
          stop: async () => {
            await workers.close();
            await bus.close();
            return { clean: true };
          },
        };
      } catch (error) {
        await bus.close();
        throw error;
      }
    }
    case 'checkers': {
      const config = checkers.loadConfig(spec.env);
      // Built before start() would, so the user hears why the first start takes longer.
      let told = false;
      await checkers.ensureBundles(spec.env['BUNDLE_DIR'] ?? '', {
        onBuild: () => {
          if (!told)
            note(
              'building the checkers bundles (on a first start, or after their sources changed)…',
            );
          told = true;
        },
      });
      return fromApp(
        await checkers.start(config, {
          logger: createLogger('checkers', { level }),
          handleSignals: false,
        }),
      );
    }
    case 'svc-proxy':
      return fromApp(
        await svcProxy.start(svcProxy.parseConfig(spec.env), {
          logger: createLogger('svc-proxy', { level }),
          handleSignals: false,
        }),
      );
  }
}

function main(): void {
  const port = parentPort;
  if (port === null)
    throw new Error('service-thread.ts runs only as a worker thread of the local stack');
  const data = workerData as ServiceThreadData;
  const send = (message: FromServiceThread) => port.postMessage(message);
  if (data.brokerPort) joinEmbeddedBroker(data.brokerPort);
  const started = startService(data.spec, data, (text) => send({ kind: 'note', text }));
  started.then(
    (service) => send({ kind: 'started', ...(service.url ? { url: service.url } : {}) }),
    (error: unknown) =>
      send({ kind: 'failed', message: error instanceof Error ? error.message : String(error) }),
  );
  port.on('message', (message: ToServiceThread) => {
    if (message.kind !== 'stop') return;
    void started
      .then((service) => service.stop())
      .then(
        ({ clean }) => send({ kind: 'stopped', clean }),
        (error: unknown) =>
          send({
            kind: 'stopped',
            clean: false,
            message: error instanceof Error ? error.message : String(error),
          }),
      );
  });
}

main();
