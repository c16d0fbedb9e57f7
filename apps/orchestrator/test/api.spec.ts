import { createServer, get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineStepHandler, runEventsTopic } from '@conveyor/worker-sdk';
import request from 'supertest';
import { startSystem, unique, waitFor } from './harness';

jest.setTimeout(30_000);

describe('HTTP API: OpenAPI, SSE, completion callbacks and events', () => {
  let sys: Awaited<ReturnType<typeof startSystem>>;
  let release: () => void = () => undefined;
  beforeAll(async () => {
    const q = unique('api');
    const gate = new Promise<void>((r) => (release = r));
    sys = await startSystem({
      workflows: {
        'two.yaml': `
name: two
version: 1
steps:
  a: { queue: ${q} }
  b: { queue: ${q}-gate, needs: [a] }
output: '{ "b": steps.b }'
`,
      },
      handlers: [
        defineStepHandler({ queue: q, handle: async () => 'a' }),
        defineStepHandler({ queue: `${q}-gate`, handle: async () => (await gate, 'b') }),
      ],
    });
  });
  afterAll(async () => {
    release();
    await sys.close();
  });

  it('serves an OpenAPI 3.1 document describing every route', async () => {
    const res = await request(sys.orchestrator.url).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths).sort()).toEqual([
      '/api/dead-letters',
      '/api/runs',
      '/api/runs/{id}',
      '/api/runs/{id}/cancel',
      '/api/runs/{id}/events',
      '/api/runs/{id}/steps/{step}/items',
      '/api/workflows',
      '/api/workflows/{name}/runs',
    ]);
    expect(res.body.components.schemas.StartRun.properties).toHaveProperty('waitMs');
  });

  it('streams a run over SSE, POSTs the completion callback and publishes run.completed on the bus', async () => {
    const received: unknown[] = [];
    const callbackServer = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => callbackServer.listen(0, '127.0.0.1', r));
    const callbackUrl = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/done`;
    const busEvents: string[] = [];
    const sub = await sys.bus.subscribe(
      runEventsTopic(sys.config.eventsExchange),
      async (d) => void busEvents.push(`${d.routingKey}`),
      { pattern: 'run.completed.#' },
    );

    const started = await request(sys.orchestrator.url)
      .post('/api/workflows/two/runs')
      .send({ input: {}, callbackUrl });
    expect(started.status).toBe(201);
    const id = started.body.run.id as string;
    const events: string[] = [];
    const stream = await new Promise<IncomingMessage>((resolve) =>
      get(`${sys.orchestrator.url}/api/runs/${id}/events`, resolve),
    );
    expect(stream.headers['content-type']).toBe('text/event-stream');
    const ended = new Promise<void>((resolve) => {
      let buffer = '';
      stream.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        for (const match of buffer.matchAll(/^event: (.+)$/gm))
          if (!events.includes(match[1] ?? '')) events.push(match[1] ?? '');
      });
      stream.on('end', resolve);
    });
    await waitFor('the snapshot', async () => events.includes('snapshot'));
    release();
    await ended;
    expect(events[0]).toBe('snapshot');
    expect(events).toContain('step.succeeded');
    expect(events[events.length - 1]).toBe('run.completed');

    await waitFor('the callback', async () => received.length > 0);
    expect(received[0]).toMatchObject({
      type: 'workflow.run.event',
      event: 'run.completed',
      runId: id,
      status: 'succeeded',
      output: { b: 'b' },
    });
    await waitFor('the bus event', async () => busEvents.length > 0);
    expect(busEvents).toEqual(['run.completed.two']);
    await sub.cancel();
    callbackServer.close();
  });

  it('answers 404 for unknown runs and routes, 400 for malformed JSON and bad filters', async () => {
    const api = request(sys.orchestrator.url);
    expect((await api.get('/api/runs/nope')).status).toBe(404);
    expect((await api.get('/api/nothing')).body.error.message).toMatch(
      /no route GET \/api\/nothing/,
    );
    const malformed = await api
      .post('/api/workflows/two/runs')
      .set('content-type', 'application/json')
      .send('{"input": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.message).toMatch(/malformed JSON body/);
    const badFilter = await api.get('/api/runs?status=exploded');
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.error.details[0].path).toBe('status');
  });
});
