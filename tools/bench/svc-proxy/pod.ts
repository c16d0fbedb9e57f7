// A Go-like debug endpoint in its own process, so the load generator does not share its event loop.
import { FakePod } from '../../../apps/svc-proxy/test/support/fake-pods';

async function main(): Promise<void> {
  const pod = new FakePod(process.argv[2] ?? '127.0.0.2', 'bench-0');
  const port = await pod.start(Number(process.argv[3] ?? '0'));
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  process.on('SIGTERM', () => void pod.stop().then(() => process.exit(0)));
}

void main();
