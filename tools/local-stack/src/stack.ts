import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createBus } from '@conveyor/bus';
import { createLogger, type Logger } from '@conveyor/observability';
import { startStepWorker } from '@conveyor/worker-sdk';
import {
  checkers,
  classifier,
  documentProcessingExample,
  orchestrator,
  svcProxy,
  type StartedApp,
} from './app-modules';
import { startDevIdentityProvider } from './dev-identity-provider';
import { writeEndpointsFile } from './endpoints-file';
import { extractFieldsHandler } from './extract-fields';
import type { LocalStackSettings } from './settings';
import { prefixedWorkflowsDir } from './workflows';

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
  /** Every service's graceful shutdown, last started first; `clean` is false if any was not. */
  stop(): Promise<{ clean: boolean; failures: string[] }>;
}

/** One started part of the stack and how to stop it. */
interface Part {
  readonly name: string;
  stop(): Promise<{ clean: boolean }>;
}

const fromObservability = (name: string, app: StartedApp): Part => ({
  name,
  stop: () => app.obs.shutdown('local stack stopping'),
});

/**
 * Runs one service's start-up, naming the service and the launcher variable of its port in any
 * error: the apps' own messages speak of PORT, which the local stack sets per service.
 */
async function starting<T>(
  service: string,
  portVariable: string,
  port: number,
  start: () => Promise<T>,
): Promise<T> {
  try {
    return await start();
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    throw new Error(
      `${service} failed to start: ${message}\n(the local stack runs it on ${portVariable}=${port}; set that variable to move it)`,
      { cause: error },
    );
  }
}

async function stopAll(
  parts: Part[],
  logger: Logger,
): Promise<{ clean: boolean; failures: string[] }> {
  const failures: string[] = [];
  for (const part of [...parts].reverse()) {
    try {
      const { clean } = await part.stop();
      if (!clean) failures.push(`${part.name}: shutdown was not clean (see its log lines)`);
    } catch (error) {
      failures.push(`${part.name}: ${(error as Error).message}`);
      logger.error({ part: part.name, err: (error as Error).message }, 'stopping failed');
    }
  }
  return { clean: failures.length === 0, failures };
}

/**
 * Starts every service of the repository in this process: orchestrator (example workflows),
 * the example's TypeScript workers, the classifier's HTTP API and `classify` worker, the checkers
 * game server (engine thread pool), svc-proxy (static discovery of the services above) and a
 * development identity provider for svc-proxy's sign-in. On failure, whatever had started is
 * stopped again before the error is thrown.
 */
export async function startLocalStack(settings: LocalStackSettings): Promise<RunningStack> {
  const level = settings.logLevel;
  const logger = createLogger('local-stack', { level });
  const parts: Part[] = [];
  const { host, ports, queuePrefix } = settings;
  const shared: Record<string, string> = {
    HOST: host,
    LOG_LEVEL: settings.logLevel,
    STEP_QUEUE_TYPE: settings.stepQueueType,
    ...(settings.amqpUrl ? { AMQP_URL: settings.amqpUrl } : {}),
  };
  const database: Record<string, string> = {
    ...(settings.databaseUrl ? { DATABASE_URL: settings.databaseUrl } : {}),
    ...(settings.databaseSchema ? { DATABASE_SCHEMA: settings.databaseSchema } : {}),
  };
  const dataDir = (service: string) => join(settings.dataDir, service);
  try {
    const idp = await starting(
      'the development identity provider',
      'DEV_IDP_PORT',
      ports.devIdentityProvider,
      () =>
        // Always loopback, whatever HOST is: it signs in anyone who reaches it.
        startDevIdentityProvider({
          host: '127.0.0.1',
          port: ports.devIdentityProvider,
          email: settings.devEmail,
        }),
    );
    parts.push({
      name: 'dev identity provider',
      stop: async () => (await idp.stop(), { clean: true }),
    });

    const orchestratorApp = await starting(
      'orchestrator',
      'ORCHESTRATOR_PORT',
      ports.orchestrator,
      async () =>
        orchestrator.start(
          orchestrator.configFromEnv({
            ...shared,
            ...database,
            PORT: String(ports.orchestrator),
            DATA_DIR: dataDir('orchestrator'),
            WORKFLOWS_DIR: prefixedWorkflowsDir(
              settings.workflowsDir,
              queuePrefix,
              join(settings.dataDir, 'workflows'),
            ),
            ...(queuePrefix
              ? {
                  RESULTS_QUEUE: `${queuePrefix}conveyor.step-results`,
                  PROGRESS_QUEUE: `${queuePrefix}conveyor.step-progress`,
                  EVENTS_EXCHANGE: `${queuePrefix}conveyor.workflow-events`,
                }
              : {}),
          }),
          { logger: createLogger('orchestrator', { level }), handleSignals: false },
        ),
    );
    parts.push(fromObservability('orchestrator', orchestratorApp));

    const classifierEnv = {
      ...shared,
      DATA_DIR: dataDir('classifier'),
      CLASSIFY_QUEUE: `${queuePrefix}classify`,
      ...(settings.classifierModel.dir ? { MODEL_DIR: settings.classifierModel.dir } : {}),
    };
    const classifierWorker = await starting(
      'classifier worker',
      'CLASSIFIER_WORKER_PORT',
      ports.classifierWorker,
      async () =>
        classifier.startWorker(
          classifier.loadConfig({ ...classifierEnv, PORT: String(ports.classifierWorker) }),
          { handleSignals: false },
        ),
    );
    parts.push(fromObservability('classifier worker', classifierWorker));
    const classifierApi = await starting(
      'classifier',
      'CLASSIFIER_PORT',
      ports.classifier,
      async () =>
        classifier.start(
          classifier.loadConfig({ ...classifierEnv, PORT: String(ports.classifier) }),
          { handleSignals: false },
        ),
    );
    parts.push(fromObservability('classifier', classifierApi));

    // The example's workers get their own bus: on the embedded transport it joins the one
    // broker this process shares; on RabbitMQ it is one more connection, named for rabbitmqctl.
    const workerLogger = createLogger('document-processing-workers', { level });
    const workerBus = await createBus({
      ...(settings.amqpUrl ? { url: settings.amqpUrl } : {}),
      logger: workerLogger,
      connectionName: `${queuePrefix}local-stack-example-workers`,
    });
    parts.push({
      name: 'example workers bus',
      stop: async () => (await workerBus.close(), { clean: true }),
    });
    const workers = await startStepWorker({
      bus: workerBus,
      logger: workerLogger,
      queueType: settings.stepQueueType,
      handlers: [
        ...documentProcessingExample.handlers({
          logger: workerLogger,
          withClassify: false,
          queuePrefix,
        }),
        extractFieldsHandler(queuePrefix),
      ],
    });
    parts.push({
      name: 'example workers',
      stop: async () => (await workers.close(), { clean: true }),
    });

    const checkersApp = await starting('checkers', 'CHECKERS_PORT', ports.checkers, async () =>
      checkers.start(
        checkers.loadConfig({
          ...shared,
          ...database,
          PORT: String(ports.checkers),
          DATA_DIR: dataDir('checkers'),
          // Built here rather than in apps/checkers/dist, so the stack never reads bundles that
          // a concurrent `checkers:build` or checkers test run is rewriting.
          BUNDLE_DIR: join(dataDir('checkers'), 'bundles'),
          ENGINE_MODE: 'pool',
        }),
        { logger: createLogger('checkers', { level }), handleSignals: false },
      ),
    );
    parts.push(fromObservability('checkers', checkersApp));

    const endpointsFile = join(dataDir('svc-proxy'), 'endpoints.yaml');
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
    const reachable = settings.reachableHost.includes(':')
      ? `[${settings.reachableHost}]`
      : settings.reachableHost;
    const proxyUrl = `http://${reachable}:${ports.svcProxy}`;
    const proxyApp = await starting('svc-proxy', 'SVC_PROXY_PORT', ports.svcProxy, async () =>
      svcProxy.start(
        svcProxy.parseConfig({
          HOST: host,
          PORT: String(ports.svcProxy),
          PUBLIC_URL: proxyUrl,
          // Plain HTTP on loopback: the cookie cannot carry Secure here.
          INSECURE_COOKIE: 'true',
          GOOGLE_CLIENT_ID: 'conveyor-local-stack',
          GOOGLE_CLIENT_SECRET: 'conveyor-local-stack-dev-only',
          OAUTH_AUTHORIZATION_URL: idp.authorizationURL,
          OAUTH_TOKEN_URL: idp.tokenURL,
          OAUTH_USERINFO_URL: idp.userinfoURL,
          ALLOWED_EMAILS: settings.devEmail,
          // Fresh per start: sessions do not outlive the stack, and no secret sits in a file.
          COOKIE_SECRET: randomBytes(32).toString('base64url'),
          DISCOVERY: 'static',
          STATIC_ENDPOINTS_FILE: endpointsFile,
        }),
        { logger: createLogger('svc-proxy', { level }), handleSignals: false },
      ),
    );
    parts.push(fromObservability('svc-proxy', proxyApp));

    return {
      urls: {
        checkers: checkersApp.url,
        classifier: classifierApi.url,
        classifierWorker: classifierWorker.url,
        orchestrator: orchestratorApp.url,
        svcProxy: proxyApp.url,
        devIdentityProvider: idp.issuer,
      },
      devEmail: settings.devEmail,
      bus: settings.amqpUrl ? 'rabbitmq' : 'embedded',
      database: settings.databaseUrl ? 'postgres' : 'sqlite',
      stop: () => stopAll(parts, logger),
    };
  } catch (error) {
    await stopAll(parts, logger);
    throw error;
  }
}
