/**
 * The serving runtime against onnxruntime-node called directly, same model, same input, same
 * run: throughput and latency at a few concurrencies (closed loop, fixed duration), and 20 hot
 * swaps under load, which must fail no request. Server and clients share this process and its
 * two cores, so the overhead figure is an upper bound.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import ort from 'onnxruntime-node';
import { pino } from 'pino';
import { PROJECT_ROOT } from '../src/paths.js';
import { startServingRuntime } from '../src/serving/serve.js';
import { ServingAdminClient } from '../src/serving/admin-client.js';
import { percentile } from '../src/canary/analysis/percentiles.js';
import { makeSignedBundle } from '../test/helpers/bundle-fixture.js';
import { makeKeys } from '../test/helpers/fixtures.js';
import { BenchFailure, type BenchContext, type BenchResult, type BenchRow, type Benchmark } from './types.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const CONCURRENCY = [1, 4, 16];
const SECONDS = 3;
const FEATURES = [[0.1, -0.4, 0.8, 0.3]];

interface LoopResult {
  readonly requests: number;
  readonly failures: number;
  readonly latenciesMs: number[];
  readonly seconds: number;
}

async function closedLoop(concurrency: number, seconds: number, call: () => Promise<boolean>): Promise<LoopResult> {
  const latenciesMs: number[] = [];
  let failures = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const ok = await call().catch(() => false);
        latenciesMs.push(performance.now() - t0);
        if (!ok) failures++;
      }
    }),
  );
  return { requests: latenciesMs.length, failures, latenciesMs, seconds: (performance.now() - started) / 1000 };
}

function row(subject: string, input: string, r: LoopResult, ratio: string): BenchRow {
  const p50 = percentile(r.latenciesMs, 50);
  const p99 = percentile(r.latenciesMs, 99);
  return {
    bench: 'serving',
    subject: `${subject} (p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms)`,
    input,
    runs: 1,
    medianSeconds: p50 / 1000,
    throughput: { perSecond: r.requests / r.seconds, unit: 'req' },
    ratio,
  };
}

export const servingBenchmark: Benchmark = {
  name: 'serving',
  plan: () => [`serving: sample MLP, concurrency ${CONCURRENCY.join('/')} for ${SECONDS}s each, vs onnxruntime-node in-process; 20 hot swaps under load`],
  async run(ctx: BenchContext): Promise<BenchResult> {
    const dir = await mkdtemp(join(tmpdir(), 'modelship-bench-serving-'));
    const secret = randomBytes(24).toString('hex');
    try {
      const keys = await makeKeys(join(dir, 'keys'));
      const v1 = await makeSignedBundle(join(dir, 'v1'), keys.signingKey, { version: '1.0.0' });
      const v2 = await makeSignedBundle(join(dir, 'v2'), keys.signingKey, { version: '2.0.0' });
      const runtime = await startServingRuntime({
        host: '127.0.0.1',
        port: 0,
        stateDir: join(dir, 'state'),
        trustedKeysDir: join(dir, 'keys'),
        adminSecret: secret,
        logger: pino({ level: 'warn' }),
      });
      const admin = new ServingAdminClient({ baseUrl: runtime.url, secret });
      try {
        await admin.deploy('sample-mlp', 'stable', v1.bundleDir);
        const url = `${runtime.url}/v1/models/sample-mlp/infer`;
        const body = JSON.stringify({ inputs: { features: { dims: [1, 4], data: FEATURES.flat() } } });
        const viaHttp = async () => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).ok;
        const session = await ort.InferenceSession.create(SAMPLE);
        const feeds = { features: new ort.Tensor('float32', Float32Array.from(FEATURES.flat()), [1, 4]) };
        const direct = async () => Boolean(await session.run(feeds));

        const rows: BenchRow[] = [];
        for (const c of CONCURRENCY) {
          ctx.progress(`serving: concurrency ${c}`);
          const native = await closedLoop(c, SECONDS, direct);
          const served = await closedLoop(c, SECONDS, viaHttp);
          if (served.failures) throw new BenchFailure(`serving: ${served.failures} failed requests at concurrency ${c}`);
          const input = `concurrency ${c}, batch 1`;
          rows.push(row('onnxruntime-node in-process', input, native, '1.00x (base)'));
          rows.push(row('serving runtime over HTTP', input, served, `${(served.requests / served.seconds / (native.requests / native.seconds)).toFixed(2)}x`));
        }
        await session.release();

        ctx.progress('serving: 20 hot swaps under load');
        let swaps = 0;
        const swapping = (async () => {
          for (; swaps < 20; swaps++) {
            await admin.deploy('sample-mlp', 'stable', swaps % 2 === 0 ? v2.bundleDir : v1.bundleDir);
            await new Promise((r) => setTimeout(r, 50));
          }
        })();
        const underSwaps = await closedLoop(8, SECONDS + 2, viaHttp);
        await swapping;
        if (underSwaps.failures) throw new BenchFailure(`serving: ${underSwaps.failures} requests failed during hot swaps`);
        rows.push(row(`serving during ${swaps} hot swaps, ${underSwaps.failures} failed`, 'concurrency 8, batch 1', underSwaps, ''));
        return {
          rows,
          notes: [
            'serving: "vs base" is the request rate relative to onnxruntime-node called in-process (lower means overhead: HTTP, JSON, routing, metrics); server and clients share the same 2 cores',
          ],
        };
      } finally {
        await runtime.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
