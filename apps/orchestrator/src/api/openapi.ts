import { RunEvent, StepError } from '@conveyor/contracts';
import { z } from 'zod';
import { CancelBody, ItemsQuery, ListRunsQuery, StartRunBody } from './schemas';

const schema = (s: z.ZodType) =>
  z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

function queryParameters(s: z.ZodObject) {
  const json = schema(s) as { properties?: Record<string, Record<string, unknown>> };
  return Object.entries(json.properties ?? {}).map(([name, p]) => ({
    name,
    in: 'query',
    required: false,
    schema: p,
    ...(typeof p.description === 'string' ? { description: p.description } : {}),
  }));
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

let cached: Record<string, unknown> | undefined;

/** The OpenAPI 3.1 document served at /openapi.json, generated from the same zod schemas. */
export function buildOpenApi(): Record<string, unknown> {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'Conveyor orchestrator',
      version: '1',
      description:
        'Start, inspect, cancel and follow workflow runs. Worker protocol: docs/worker-protocol.md.',
    },
    paths: {
      '/api/workflows': {
        get: {
          summary: 'Workflows (latest versions) with their steps',
          responses: { '200': { description: 'Workflows' } },
        },
      },
      '/api/workflows/{name}/runs': {
        post: {
          summary: 'Start a run',
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/StartRun' } } },
          },
          responses: {
            '201': { description: 'Started; `run` is a RunSummary' },
            '200': {
              description:
                'An existing run with the same idempotency key, or (with waitMs) the finished RunDetail',
            },
            '202': { description: 'With waitMs: still running when the wait ended (RunDetail)' },
            '400': errorResponse(
              'Malformed body, an empty body, JSON that is not an object, or input failing the workflow inputSchema (details list each problem)',
            ),
            '404': errorResponse('Unknown workflow or version'),
            '413': errorResponse(
              'Body over HTTP_BODY_LIMIT_BYTES (default 4 MiB) or run input over RUN_INPUT_LIMIT_BYTES (default 1 MiB, as JSON)',
            ),
            '415': errorResponse('Not sent as Content-Type: application/json'),
          },
        },
      },
      '/api/runs': {
        get: {
          summary: 'List runs, newest first',
          parameters: queryParameters(ListRunsQuery),
          responses: {
            '200': {
              description:
                '{ runs: RunSummary[], next }: summaries without input and output, the error cut to its code and the start of its message (GET /api/runs/{id} has them whole)',
            },
            '400': errorResponse('Bad filter'),
          },
        },
      },
      '/api/runs/{id}': {
        get: {
          summary:
            'A run with every step: status, timing, attempts, errors; fan-outs with counters and their first items',
          parameters: [idParam],
          responses: { '200': { description: 'RunDetail' }, '404': errorResponse('No such run') },
        },
      },
      '/api/runs/{id}/steps/{step}/items': {
        get: {
          summary: 'Items of a fan-out step, paged',
          parameters: [
            idParam,
            { name: 'step', in: 'path', required: true, schema: { type: 'string' } },
            ...queryParameters(ItemsQuery),
          ],
          responses: {
            '200': { description: '{ step, total, offset, items }' },
            '404': errorResponse('No such run or fan-out'),
          },
        },
      },
      '/api/runs/{id}/cancel': {
        post: {
          summary: 'Cancel a running run (and its sub-workflow runs)',
          parameters: [idParam],
          requestBody: {
            required: false,
            content: { 'application/json': { schema: schema(CancelBody) } },
          },
          responses: {
            '200': { description: 'Cancelled' },
            '404': errorResponse('No such run'),
            '409': errorResponse('Already finished'),
            '415': errorResponse('A body not sent as Content-Type: application/json'),
          },
        },
      },
      '/api/runs/{id}/events': {
        get: {
          summary:
            'Server-sent events: `snapshot` (RunDetail), then each RunEvent (event name = its `event`), ending with `run.completed`',
          parameters: [idParam],
          responses: {
            '200': {
              description: 'text/event-stream',
              content: {
                'text/event-stream': { schema: { $ref: '#/components/schemas/RunEvent' } },
              },
            },
            '404': errorResponse('No such run'),
          },
        },
      },
      '/api/dead-letters': {
        get: {
          summary: 'Messages the orchestrator dead-lettered (newest 100)',
          responses: { '200': { description: 'Dead letters' } },
        },
      },
    },
    components: {
      schemas: {
        StartRun: schema(StartRunBody),
        RunEvent: schema(RunEvent),
        StepError: schema(StepError),
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['message'],
              properties: { message: { type: 'string' }, details: {} },
            },
          },
        },
      },
    },
  };
  return cached;
}
