// The service profiling-overhead.ts measures: GET /work does ~1 ms of JavaScript (JSON and a
// hash, like a request handler), GET /cpu reports this process's CPU time. HEAP_SAMPLING=0 runs
// it without the always-on heap sampler, to price that separately.
import { createHash } from 'node:crypto';
import express from 'express';
import { createLogger, createObservability } from '../src';

async function main() {
  const obs = createObservability({
    service: 'profiled-service',
    logger: createLogger('profiled-service', { env: { LOG_LEVEL: 'warn' } }),
    heapSampling: process.env['HEAP_SAMPLING'] !== '0',
  });
  const app = express();
  obs.mount(app);
  const doc = { items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item-${i}` })) };
  app.get('/work', (_req, res) => {
    let digest = '';
    for (let i = 0; i < 20; i++)
      digest = createHash('sha256')
        .update(JSON.stringify(doc) + digest)
        .digest('hex');
    res.json({ digest });
  });
  app.get('/cpu', (_req, res) => {
    const { user, system } = process.cpuUsage();
    res.json({ cpuMicros: user + system });
  });
  const server = await obs.listen(app, Number(process.env['PORT'] ?? 0));
  const address = server.address();
  if (typeof address === 'object' && address) process.stdout.write(`PORT=${address.port}\n`);
}

void main();
