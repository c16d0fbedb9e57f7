import { proxiedDebugVars } from './endpoints-file';
import type { LocalStackSettings } from './settings';
import type { RunningStack } from './stack';

/** What `npm start` prints once everything listens: where each service is, and how to sign in. */
export function banner(
  stack: Pick<RunningStack, 'urls' | 'devEmail' | 'bus' | 'database'>,
  settings: Pick<LocalStackSettings, 'dataDir'> & {
    readonly classifierModel?: LocalStackSettings['classifierModel'];
  },
): string {
  const { urls } = stack;
  const bus = stack.bus === 'embedded' ? 'embedded in-process bus' : 'RabbitMQ (AMQP_URL)';
  const database =
    stack.database === 'sqlite' ? `SQLite under ${settings.dataDir}` : 'PostgreSQL (DATABASE_URL)';
  const rows: [string, string][] = [
    ['checkers (play draughts)', `${urls.checkers}/`],
    ['classifier API', `${urls.classifier}/v1/classify  (POST {"title","body"})`],
    [
      'orchestrator API',
      `${urls.orchestrator}/api/runs  (OpenAPI: ${urls.orchestrator}/openapi.json)`,
    ],
    ['run inspector', `${urls.orchestrator}/`],
    ['svc-proxy', `${urls.svcProxy}/  (e.g. ${proxiedDebugVars(urls.svcProxy, 'orchestrator')})`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return [
    '',
    `Conveyor local stack is running (${bus}, ${database})`,
    ...rows.map(([name, url]) => `  ${name.padEnd(width)}  ${url}`),
    ...(settings.classifierModel?.note ? ['', `  note: ${settings.classifierModel.note}`] : []),
    '',
    `  svc-proxy sign-in: you are signed in as ${stack.devEmail} by a development identity provider`,
    `  at ${urls.devIdentityProvider} (oauth2-mock-server). FOR LOCAL USE ONLY: it signs in anyone who`,
    '  can reach it without asking for a password; deployments use Google (see apps/svc-proxy/README.md).',
    '',
    '  Try a workflow:',
    `    curl -s -X POST ${urls.orchestrator}/api/workflows/document-processing/runs -H 'content-type: application/json' \\`,
    `      -d "{\\"input\\": $(cat examples/document-processing/sample/bundle.json), \\"waitMs\\": 60000}"`,
    '',
    'Ctrl-C stops every service.',
    '',
  ].join('\n');
}
