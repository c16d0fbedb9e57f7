// The floor for svc-proxy's throughput: the least a Node proxy can do per request (a keep-alive
// agent, both bodies piped, no sign-in, no header policy, no audit line). What it reaches against
// the bench pod is the most any Node proxy can reach on the machine; see docs/benchmarks/svc-proxy.md.
//   npx tsx tools/bench/svc-proxy/bare-proxy.ts <pod host> <pod port> <listen port>
import { Agent, createServer, request } from 'node:http';

const [podHost = '127.0.0.2', podPort = '18081', port = '18082'] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

createServer((req, res) => {
  const upstream = request(
    {
      host: podHost,
      port: Number(podPort),
      path: req.url,
      method: req.method,
      headers: req.headers,
      agent,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.writeHead(502).end());
  req.pipe(upstream);
}).listen(Number(port), '127.0.0.1', () => process.stdout.write(`listening on ${port}\n`));
