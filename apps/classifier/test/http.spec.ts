import request from 'supertest';
import { configFrom } from '../src/config';
import { start, type RunningClassifier } from '../src/main';
import { CountingClassifier, trainFixtureBaseline } from './helpers';

const HQ_QUESTION = {
  title: 'How to get the value of a select in Java?',
  body: '<p>I have tried <code>foo.getValue()</code> &amp; it fails:</p><pre><code>Select s = new Select();\ns.getValue();</code></pre>',
};
const LQ_CLOSE_QUESTION = {
  title: 'Best language for games?',
  body: '<p>Which language is the best for making games? I am a beginner.</p>',
};

describe('HTTP API', () => {
  let app: RunningClassifier;
  let model: CountingClassifier;

  beforeAll(async () => {
    model = new CountingClassifier(await trainFixtureBaseline(), 30);
    app = await start(
      configFrom({
        PORT: 0,
        LOG_LEVEL: 'silent',
        BATCH_MAX_SIZE: 16,
        BATCH_WAIT_MS: 20,
        BODY_LIMIT_BYTES: 20_000,
        MAX_QUEUED_ITEMS: 200,
      }),
      { model, handleSignals: false },
    );
    await app.service.ready;
  });
  afterAll(async () => {
    await app.stop();
  });

  it('classifies one question with label and probabilities', async () => {
    const res = await request(app.server).post('/v1/classify').send(HQ_QUESTION).expect(200);
    expect(res.body.label).toBe('high');
    expect(res.body.model).toEqual({ kind: 'tfidf-logreg', version: 'tfidf-logreg' });
    const p = res.body.probabilities as Record<string, number>;
    expect(Object.keys(p).sort()).toEqual(['high', 'low', 'none']);
    expect((p['none'] ?? 0) + (p['low'] ?? 0) + (p['high'] ?? 0)).toBeCloseTo(1, 5);
    expect(p['high']).toBeGreaterThan(p['none'] ?? 1);
  });

  it('classifies a batch in order, echoing ids', async () => {
    const res = await request(app.server)
      .post('/v1/classify')
      .send({
        items: [
          { id: 'a', ...LQ_CLOSE_QUESTION },
          { id: 'b', ...HQ_QUESTION },
        ],
      })
      .expect(200);
    expect(res.body.results.map((r: { id: string; label: string }) => [r.id, r.label])).toEqual([
      ['a', 'none'],
      ['b', 'high'],
    ]);
  });

  it('batches concurrent requests into one model call', async () => {
    await new Promise((r) => setTimeout(r, 100)); // let earlier calls drain
    model.calls.length = 0;
    // The first model call stays busy until every request has arrived, however slowly a loaded
    // machine delivers them: the ones that missed the first 20 ms window must then share a call.
    const release = model.holdNextCall();
    const pending = Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        request(app.server)
          .post('/v1/classify')
          .send({ ...HQ_QUESTION, title: `${HQ_QUESTION.title} ${i}` }),
      ),
    );
    for (let waited = 0; (model.calls[0] ?? 0) + app.service.batching.queued < 8; waited += 10) {
      if (waited > 30_000) throw new Error('the 8 requests did not reach the batcher in 30 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    release();
    const responses = await pending;
    for (const res of responses) expect(res.status).toBe(200);
    expect(model.calls.reduce((a, b) => a + b, 0)).toBe(8);
    expect(model.calls.length).toBeLessThanOrEqual(2);
    expect(Math.max(...model.calls)).toBeGreaterThanOrEqual(4);
  });

  it.each([
    [{ body: 'no title' }, 'title'],
    [{ title: '', body: 'x' }, 'title'],
    [{ title: 'x', body: 5 }, 'body'],
    [{ items: [] }, 'items'],
    [{ items: [{ title: 'ok', body: '' }, { title: 'no body' }] }, 'items.1.body'],
    [{ title: 'x', body: 'y', extra: true }, '(body)'],
  ])('rejects %j with 400 naming %s', async (body, field) => {
    const res = await request(app.server).post('/v1/classify').send(body).expect(400);
    expect(res.body.error.code).toBe('INVALID_REQUEST');
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(field);
    expect(res.body.error.message).toMatch(/send \{"title"/);
  });

  it('rejects malformed JSON with 400 and other media types with 415', async () => {
    const bad = await request(app.server)
      .post('/v1/classify')
      .set('Content-Type', 'application/json')
      .send('{"title": ')
      .expect(400);
    expect(bad.body.error.code).toBe('INVALID_JSON');
    const text = await request(app.server)
      .post('/v1/classify')
      .set('Content-Type', 'text/plain')
      .send('hello')
      .expect(415);
    expect(text.body.error.message).toMatch(/application\/json/);
  });

  it('rejects bodies over the limit with 413', async () => {
    const res = await request(app.server)
      .post('/v1/classify')
      .send({ title: 'big', body: 'x'.repeat(30_000) })
      .expect(413);
    expect(res.body.error.code).toBe('BODY_TOO_LARGE');
  });

  it('answers 404 with the API hint', async () => {
    const res = await request(app.server).get('/v1/nothing').expect(404);
    expect(res.body.error.message).toMatch(/POST \/v1\/classify/);
  });

  it('serves health, readiness, metrics and debug vars', async () => {
    await request(app.server).get('/healthz').expect(200);
    const ready = await request(app.server).get('/readyz').expect(200);
    expect(ready.body.checks.model.ok).toBe(true);
    const metrics = await request(app.server).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/classifier_batch_size_bucket/);
    expect(metrics.text).toMatch(/classifier_inference_seconds_count/);
    expect(metrics.text).toMatch(/classifier_predictions_total\{label="high"/);
    const vars = await request(app.server).get('/debug/vars').expect(200);
    expect(JSON.stringify(vars.body)).toMatch(/"batching"/);
    expect(JSON.stringify(vars.body)).toMatch(/tfidf-logreg/);
  });
});

describe('HTTP API while the model cannot load', () => {
  it('is alive but not ready, and refuses to classify with 503', async () => {
    const app = await start(
      configFrom({ PORT: 0, LOG_LEVEL: 'silent', MODEL_DIR: '/nonexistent/model' }),
      { handleSignals: false },
    );
    try {
      await expect(app.service.ready).rejects.toThrow(
        /cannot load a classifier from \/nonexistent\/model/,
      );
      await request(app.server).get('/healthz').expect(200);
      const ready = await request(app.server).get('/readyz').expect(503);
      expect(ready.body.failing).toEqual(['model']);
      const res = await request(app.server).post('/v1/classify').send(HQ_QUESTION).expect(503);
      expect(res.body.error.code).toBe('MODEL_UNAVAILABLE');
      expect(res.headers['retry-after']).toBe('1');
    } finally {
      await app.stop();
    }
  });
});
