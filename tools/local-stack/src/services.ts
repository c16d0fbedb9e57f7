import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { QueueType } from '@conveyor/bus';
import type { LogLevel } from '@conveyor/observability';
import type { DevIdentityProvider } from './dev-identity-provider';
import type { LocalStackSettings } from './settings';
import { prefixedWorkflowsDir } from './workflows';

type Env = Record<string, string>;

/**
 * What one service thread is told to start: plain data (it crosses to a worker thread as
 * workerData). `env` is what the app's own config parser validates, as in production.
 */
export type ServiceSpec =
  | { readonly kind: 'orchestrator'; readonly env: Env }
  | { readonly kind: 'classifier-worker'; readonly env: Env }
  | { readonly kind: 'classifier'; readonly env: Env }
  | {
      readonly kind: 'example-workers';
      readonly amqpUrl: string | undefined;
      readonly queuePrefix: string;
      readonly stepQueueType: QueueType;
    }
  | { readonly kind: 'checkers'; readonly env: Env }
  | { readonly kind: 'svc-proxy'; readonly env: Env };

export type ServiceKind = ServiceSpec['kind'];

/** One service of the stack: what to start, how it is named, and the variable of its port. */
export interface Service {
  readonly spec: ServiceSpec;
  /** As the launcher's messages name it. */
  readonly label: string;
  /** The launcher variable of its port, named in start-up errors (none: it does not listen). */
  readonly port?: { readonly variable: string; readonly value: number };
  readonly logLevel: LogLevel;
}

/**
 * Every service of the stack, in start order (stopped in reverse): the orchestrator with the
 * example workflows, the classifier's `classify` worker and HTTP API, the example's TypeScript
 * workers, the checkers game server and svc-proxy (static discovery of the others).
 */
export function stackServices(
  settings: LocalStackSettings,
  idp: Pick<DevIdentityProvider, 'authorizationURL' | 'tokenURL' | 'userinfoURL'>,
  endpointsFile: string,
): Service[] {
  const { host, ports, queuePrefix, logLevel } = settings;
  const shared: Env = {
    HOST: host,
    LOG_LEVEL: logLevel,
    STEP_QUEUE_TYPE: settings.stepQueueType,
    ...(settings.amqpUrl ? { AMQP_URL: settings.amqpUrl } : {}),
  };
  const database: Env = {
    ...(settings.databaseUrl ? { DATABASE_URL: settings.databaseUrl } : {}),
    ...(settings.databaseSchema ? { DATABASE_SCHEMA: settings.databaseSchema } : {}),
  };
  const dataDir = (service: string) => join(settings.dataDir, service);
  const classifierEnv: Env = {
    ...shared,
    DATA_DIR: dataDir('classifier'),
    CLASSIFY_QUEUE: `${queuePrefix}classify`,
    ...(settings.classifierModel.dir ? { MODEL_DIR: settings.classifierModel.dir } : {}),
  };
  const reachable = settings.reachableHost.includes(':')
    ? `[${settings.reachableHost}]`
    : settings.reachableHost;
  const service = (
    spec: ServiceSpec,
    label: string,
    variable?: string,
    value?: number,
  ): Service => ({
    spec,
    label,
    logLevel,
    ...(variable !== undefined && value !== undefined ? { port: { variable, value } } : {}),
  });
  return [
    service(
      {
        kind: 'orchestrator',
        env: {
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
        },
      },
      'orchestrator',
      'ORCHESTRATOR_PORT',
      ports.orchestrator,
    ),
    service(
      {
        kind: 'classifier-worker',
        env: { ...classifierEnv, PORT: String(ports.classifierWorker) },
      },
      'classifier worker',
      'CLASSIFIER_WORKER_PORT',
      ports.classifierWorker,
    ),
    service(
      { kind: 'classifier', env: { ...classifierEnv, PORT: String(ports.classifier) } },
      'classifier',
      'CLASSIFIER_PORT',
      ports.classifier,
    ),
    service(
      {
        kind: 'example-workers',
        amqpUrl: settings.amqpUrl,
        queuePrefix,
        stepQueueType: settings.stepQueueType,
      },
      'example workers',
    ),
    service(
      {
        kind: 'checkers',
        env: {
          ...shared,
          ...database,
          PORT: String(ports.checkers),
          DATA_DIR: dataDir('checkers'),
          // Built here rather than in apps/checkers/dist, so the stack never reads bundles that
          // a concurrent `checkers:build` or checkers test run is rewriting.
          BUNDLE_DIR: join(dataDir('checkers'), 'bundles'),
          ENGINE_MODE: 'pool',
        },
      },
      'checkers',
      'CHECKERS_PORT',
      ports.checkers,
    ),
    service(
      {
        kind: 'svc-proxy',
        env: {
          HOST: host,
          PORT: String(ports.svcProxy),
          PUBLIC_URL: `http://${reachable}:${ports.svcProxy}`,
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
        },
      },
      'svc-proxy',
      'SVC_PROXY_PORT',
      ports.svcProxy,
    ),
  ];
}
