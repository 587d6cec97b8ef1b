/**
 * The floor for the serving bench: node:http + onnxruntime-node and nothing else. It answers an
 * Open Inference Protocol JSON infer on any path with the model's outputs as OIP JSON: no
 * routing, validation, leases, metrics or request log. `node dist/bench/bare-server.js MODEL PORT`
 * prints `listening <url>` once it accepts requests.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import ort from 'onnxruntime-node';

const [modelPath, portText] = process.argv.slice(2);
const session = await ort.InferenceSession.create(modelPath!, { logSeverityLevel: 4, graphOptimizationLevel: 'all' });

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { inputs: { name: string; shape: number[]; data: number[] }[] };
    const feeds = Object.fromEntries(request.inputs.map((i) => [i.name, new ort.Tensor('float32', Float32Array.from(i.data), i.shape)]));
    session.run(feeds).then(
      (results) => {
        const outputs = session.outputNames.map((name) => {
          const t = results[name]!;
          return { name, datatype: 'FP32', shape: t.dims, data: Array.from(t.data as Float32Array) };
        });
        const body = JSON.stringify({ model_name: 'bare', outputs });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(err) }));
      },
    );
  });
});
server.keepAliveTimeout = 5_000;
server.listen(Number(portText ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
