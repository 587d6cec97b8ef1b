/**
 * Serving over the Open Inference Protocol against what a user would run instead, same model
 * (the sample MLP), same input, same run: `modelship serve` (OIP JSON and binary tensors), a
 * bare node:http + onnxruntime-node server (the floor for our stack: no routing, checks, metrics
 * or request log) and KServe's Python model server with onnxruntime (JSON and binary). Each
 * server is its own process; wrk (C, one thread) drives them, closed loop, at concurrency
 * 1/4/16. Runs interleave in rounds (modelship, bare, modelship, KServe…, the order flipped each
 * round), so a noisy moment on a shared machine falls on both sides of a ratio; the ratio to the
 * bare server is taken per round and reported as the median with its min–max. Where the machine
 * allows it (taskset, ≥ 2 allowed CPUs), wrk runs pinned to a core of its own and the servers to
 * the others. Then 20 hot swaps under load, which must fail no request. Timings are reported
 * against the goal (≥ 0.9× bare, ≥ 2× KServe at 16), never asserted; wrong answers fail the bench.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import ort from 'onnxruntime-node';
import { oipBinaryRequest } from '../src/load/load-generator.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { ServingAdminClient } from '../src/serving-client/admin-client.js';
import { makeSignedBundle } from '../test/helpers/bundle-fixture.js';
import { makeKeys } from '../test/helpers/fixtures.js';
import { median } from './format.js';
import { BenchFailure, type BenchContext, type BenchResult, type BenchRow, type Benchmark } from './types.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const MODEL = 'sample-mlp';
const CONCURRENCY = [1, 4, 16];
const SECONDS = 3;
/** Interleaved rounds per concurrency: at least this many, more with --runs. */
const MIN_ROUNDS = 5;
const WARMUP_SECONDS = 1;
const FEATURES = [0.1, -0.4, 0.8, 0.3];
const GOAL_VS_BARE = 0.9;
const GOAL_VS_KSERVE = 2;

interface Body {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

const jsonBody: Body = {
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: FEATURES }] })),
};
const binaryBody: Body = oipBinaryRequest([{ name: 'features', type: 'float32', dims: [1, 4], data: new Uint8Array(Float32Array.from(FEATURES).buffer) }]);

interface Subject {
  readonly name: string;
  readonly format: 'JSON' | 'binary';
  readonly url: string;
  readonly body: Body;
}

interface WrkResult {
  readonly requests: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx answers plus socket errors. */
  readonly failures: number;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * Where the load generator and the servers run. With taskset and at least two CPUs allowed to
 * this process, wrk gets the last allowed CPU to itself and every server the others; otherwise
 * nothing is pinned and `note` says why.
 */
interface Pinning {
  readonly load: (cmd: string, args: string[]) => [string, string[]];
  readonly server: (cmd: string, args: string[]) => [string, string[]];
  readonly pinned: boolean;
  readonly note: string;
}

/** `0-1,4` → [0, 1, 4]. */
function cpuList(text: string): number[] {
  return text.split(',').flatMap((part) => {
    const [a, b] = part.trim().split('-').map(Number);
    if (a === undefined || Number.isNaN(a)) return [];
    return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
}

function detectPinning(): Pinning {
  const unpinned = (why: string): Pinning => ({ load: (c, a) => [c, a], server: (c, a) => [c, a], pinned: false, note: `not pinned: ${why}; wrk and the servers share every core` });
  let allowed: number[];
  try {
    const out = execFileSync('taskset', ['-cp', String(process.pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    allowed = cpuList(/:\s*([\d,\- ]+)\s*$/.exec(out.trim())?.[1] ?? '');
  } catch {
    return unpinned('taskset is not available');
  }
  if (allowed.length < 2) return unpinned(`only ${allowed.length} CPU allowed to this process`);
  const loadCpu = allowed[allowed.length - 1]!;
  const serverCpus = allowed.slice(0, -1).join(',');
  try {
    execFileSync('taskset', ['-c', String(loadCpu), 'true'], { stdio: 'ignore' });
  } catch {
    return unpinned('taskset cannot set the affinity here');
  }
  return {
    load: (c, a) => ['taskset', ['-c', String(loadCpu), c, ...a]],
    server: (c, a) => ['taskset', ['-c', serverCpus, c, ...a]],
    pinned: true,
    note: `pinned with taskset: wrk on CPU ${loadCpu}, every server on CPU ${serverCpus}`,
  };
}

/** Starts a server process and waits until `readyUrl` answers 200 (its output is kept for errors). */
async function startServer(what: string, pin: Pinning, cmd: string, args: string[], readyUrl: string, env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
  const child = spawn(...pin.server(cmd, args), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new BenchFailure(`serving: ${what} exited with ${child.exitCode}: ${output}`);
    const ok = await fetch(readyUrl).then((r) => r.ok, () => false);
    if (ok) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new BenchFailure(`serving: ${what} did not become ready in 120 s: ${output}`);
    }
    await sleep(100);
  }
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** A wrk script sending `body` (bytes written as Lua decimal escapes, so binary bodies pass unchanged). */
function wrkScript(body: Body): string {
  const escaped = Array.from(body.body, (b) => `\\${String(b).padStart(3, '0')}`).join('');
  const headers = Object.entries(body.headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
  return ['wrk.method = "POST"', `wrk.body = "${escaped}"`, ...headers, ''].join('\n');
}

function wrkMs(text: string, what: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) throw new BenchFailure(`serving: cannot read wrk's ${what} ${JSON.stringify(text)}`);
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 'ms' ? 1 : 1000);
}

async function runWrk(pin: Pinning, script: string, url: string, concurrency: number, seconds: number): Promise<WrkResult> {
  const child = spawn(...pin.load('wrk', ['-t1', `-c${concurrency}`, `-d${seconds}s`, '--latency', '-s', script, url]), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new BenchFailure(`serving: wrk exited with ${code}: ${out}`);
  const find = (re: RegExp, what: string) => {
    const m = re.exec(out);
    if (!m) throw new BenchFailure(`serving: no ${what} in wrk's output: ${out}`);
    return m;
  };
  const requests = Number(find(/(\d+) requests in/, 'request count')[1]);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket ? socket.slice(1).reduce((n, x) => n + Number(x), 0) : 0;
  return {
    requests,
    perSecond: Number(find(/Requests\/sec:\s+([\d.]+)/, 'Requests/sec')[1]),
    p50Ms: wrkMs(find(/^\s+50%\s+(\S+)/m, '50%')[1]!, 'p50'),
    p99Ms: wrkMs(find(/^\s+99%\s+(\S+)/m, '99%')[1]!, 'p99'),
    failures: non2xx + socketErrors,
  };
}

/** The probabilities a server answers for the bench input, from a JSON or a binary OIP response. */
async function probabilities(subject: Subject): Promise<number[]> {
  const response = await fetch(subject.url, { method: 'POST', headers: subject.body.headers, body: subject.body.body });
  const bytes = Buffer.from(await response.arrayBuffer());
  if (!response.ok) throw new BenchFailure(`serving: ${subject.name} (${subject.format}) answered ${response.status}: ${bytes.toString('utf8').slice(0, 300)}`);
  const headerLength = response.headers.get('inference-header-content-length');
  const json = JSON.parse(bytes.subarray(0, headerLength ? Number(headerLength) : bytes.length).toString('utf8')) as {
    outputs: { name: string; data?: number[]; parameters?: { binary_data_size?: number } }[];
  };
  let offset = headerLength ? Number(headerLength) : 0;
  for (const output of json.outputs) {
    const size = output.parameters?.binary_data_size;
    if (size !== undefined) {
      const raw = bytes.subarray(offset, offset + size);
      offset += size;
      if (output.name === 'probabilities') return Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)));
    } else if (output.name === 'probabilities') return output.data!;
  }
  throw new BenchFailure(`serving: ${subject.name} (${subject.format}) answered no probabilities`);
}

/** Median, quartiles and range of per-round ratios. */
function ratioSpread(values: readonly number[]): { median: number; q1: number; q3: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => {
    const pos = (sorted.length - 1) * q;
    const lo = Math.floor(pos);
    return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (pos - lo);
  };
  return { median: median(sorted), q1: at(0.25), q3: at(0.75), min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

function row(subject: Subject, concurrency: number, runs: number, r: WrkResult, ratio: string, check = ''): BenchRow {
  return {
    bench: 'serving',
    subject: `${subject.name}, OIP ${subject.format} (p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms)`,
    input: `concurrency ${concurrency}, batch 1`,
    runs,
    medianSeconds: r.p50Ms / 1000,
    throughput: { perSecond: r.perSecond, unit: 'req' },
    ratio,
    ...(check ? { check } : {}),
  };
}

export const servingBenchmark: Benchmark = {
  name: 'serving',
  plan: () => [
    `serving: sample MLP over the Open Inference Protocol, wrk closed loop at concurrency ${CONCURRENCY.join('/')}, ${SECONDS}s per run, ≥ ${MIN_ROUNDS} interleaved rounds: modelship serve (JSON, binary), bare node:http + onnxruntime-node, KServe ${'0.21.0'} + onnxruntime (JSON, binary); 20 hot swaps under load`,
  ],
  async run(ctx: BenchContext): Promise<BenchResult> {
    ctx.progress('serving: setting up wrk and the KServe venv (bench/setup-serving.sh)');
    const kservePython = execFileSync('bash', [join(PROJECT_ROOT, 'bench', 'setup-serving.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    const dir = await mkdtemp(join(tmpdir(), 'modelship-bench-serving-'));
    const children: ChildProcess[] = [];
    const pin = detectPinning();
    try {
      const keys = await makeKeys(join(dir, 'keys'));
      const v1 = await makeSignedBundle(join(dir, 'v1'), keys.signingKey, { name: MODEL, version: '1.0.0' });
      const v2 = await makeSignedBundle(join(dir, 'v2'), keys.signingKey, { name: MODEL, version: '2.0.0' });
      const secret = randomBytes(24).toString('hex');
      await writeFile(join(dir, 'admin.key'), `${secret}\n`, { mode: 0o600 });

      ctx.progress('serving: starting modelship serve, the bare server and KServe');
      const [oursPort, barePort, kservePort] = [await freePort(), await freePort(), await freePort()];
      const ours = `http://127.0.0.1:${oursPort}`;
      const env = { ...process.env, MODELSHIP_LOG_LEVEL: 'warn' };
      children.push(await startServer('modelship serve', pin, process.execPath, [join(PROJECT_ROOT, 'bin', 'modelship.js'), 'serve', '--port', String(oursPort), '--state-dir', join(dir, 'state'), '--trusted-keys-dir', join(dir, 'keys'), '--admin-key-file', join(dir, 'admin.key')], `${ours}/v2/health/ready`, env));
      const admin = new ServingAdminClient({ baseUrl: ours, secret });
      await admin.deploy(MODEL, 'stable', v1.bundleDir);
      const bare = `http://127.0.0.1:${barePort}`;
      children.push(await startServer('the bare server', pin, process.execPath, [join(PROJECT_ROOT, 'dist', 'bench', 'bare-server.js'), SAMPLE, String(barePort)], bare));
      const kserve = `http://127.0.0.1:${kservePort}`;
      children.push(await startServer('KServe', pin, kservePython, [join(PROJECT_ROOT, 'bench', 'kserve_server.py'), '--port', String(kservePort), '--model-name', MODEL, '--model-path', SAMPLE], `${kserve}/v2/models/${MODEL}/ready`));

      const infer = (base: string) => `${base}/v2/models/${MODEL}/infer`;
      const subjects: Subject[] = [
        { name: 'modelship serve', format: 'JSON', url: infer(ours), body: jsonBody },
        { name: 'modelship serve', format: 'binary', url: infer(ours), body: binaryBody },
        { name: 'bare node:http + onnxruntime-node', format: 'JSON', url: infer(bare), body: jsonBody },
        { name: 'KServe + onnxruntime (Python)', format: 'JSON', url: infer(kserve), body: jsonBody },
        { name: 'KServe + onnxruntime (Python)', format: 'binary', url: infer(kserve), body: binaryBody },
      ];

      // Same answers first: onnxruntime-node run directly is the reference (Python's onnxruntime within 1e-5).
      const session = await ort.InferenceSession.create(SAMPLE);
      const direct = Array.from((await session.run({ features: new ort.Tensor('float32', Float32Array.from(FEATURES), [1, 4]) })).probabilities!.data as Float32Array);
      await session.release();
      for (const subject of subjects) {
        const got = await probabilities(subject);
        const worst = Math.max(...direct.map((v, i) => Math.abs(v - (got[i] ?? NaN))));
        if (!(got.length === direct.length && worst <= 1e-5)) {
          throw new BenchFailure(`serving: ${subject.name} (${subject.format}) answers ${JSON.stringify(got)}, onnxruntime-node ${JSON.stringify(direct)}`);
        }
      }

      const scripts = new Map<Subject, string>();
      await mkdir(join(dir, 'wrk'));
      for (const [i, subject] of subjects.entries()) {
        const path = join(dir, 'wrk', `s${i}.lua`);
        await writeFile(path, wrkScript(subject.body));
        scripts.set(subject, path);
      }
      const rows: BenchRow[] = [];
      const notes: string[] = [];
      const rounds = Math.max(MIN_ROUNDS, ctx.options.runs);
      const loadBefore = loadavg()[0]!;
      const [oursJson, oursBinary, bareJson, kserveJson, kserveBinary] = subjects as [Subject, Subject, Subject, Subject, Subject];
      const loads: string[] = [];
      for (const c of CONCURRENCY) {
        // One round runs every subject once, the bare server between the two modelship runs and
        // the order flipped each round, so each per-round ratio compares runs seconds apart.
        const measured = new Map<Subject, WrkResult[]>(subjects.map((s) => [s, []]));
        const loadAtStart = loadavg()[0]!;
        for (let round = 0; round < rounds; round++) {
          const order = round % 2 === 0 ? [oursJson, bareJson, oursBinary, kserveJson, kserveBinary] : [oursBinary, bareJson, oursJson, kserveBinary, kserveJson];
          for (const subject of order) {
            ctx.progress(`serving: ${subject.name} ${subject.format}, concurrency ${c}, round ${round + 1}/${rounds}`);
            await runWrk(pin, scripts.get(subject)!, subject.url, c, WARMUP_SECONDS);
            const r = await runWrk(pin, scripts.get(subject)!, subject.url, c, SECONDS);
            if (r.failures) throw new BenchFailure(`serving: ${subject.name} (${subject.format}) failed ${r.failures} requests at concurrency ${c}`);
            measured.get(subject)!.push(r);
          }
        }
        loads.push(`${c}: ${loadAtStart.toFixed(1)}→${loadavg()[0]!.toFixed(1)}`);
        const bareRuns = measured.get(bareJson)!;
        // Per-round ratio against the bare server's run of the same round.
        const ratios = (subject: Subject) => measured.get(subject)!.map((r, i) => r.perSecond / bareRuns[i]!.perSecond);
        const kserveBestRuns = measured.get(kserveJson)!.map((r, i) => Math.max(r.perSecond, measured.get(kserveBinary)![i]!.perSecond));
        for (const subject of subjects) {
          const runsOf = measured.get(subject)!;
          const r = [...runsOf].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(runsOf.length / 2)]!;
          const spread = ratioSpread(ratios(subject));
          let ratio = subject === bareJson ? '1.00x (base)' : `${spread.median.toFixed(2)}x bare (${spread.min.toFixed(2)}–${spread.max.toFixed(2)})`;
          let check = '';
          if (subject === oursJson || subject === oursBinary) {
            check = `goal ≥${GOAL_VS_BARE}x bare ${spread.median >= GOAL_VS_BARE ? 'met' : 'not met'}`;
            if (c === 16) {
              const vsKserve = ratioSpread(runsOf.map((x, i) => x.perSecond / kserveBestRuns[i]!));
              check += `, ≥${GOAL_VS_KSERVE}x KServe ${vsKserve.median >= GOAL_VS_KSERVE ? 'met' : 'not met'} (${vsKserve.median.toFixed(2)}x, ${vsKserve.min.toFixed(2)}–${vsKserve.max.toFixed(2)})`;
              notes.push(`serving at 16, OIP ${subject.format}: median of ${rounds} per-round ratios ${spread.median.toFixed(2)}x bare (min–max ${spread.min.toFixed(2)}–${spread.max.toFixed(2)}, IQR ${spread.q1.toFixed(2)}–${spread.q3.toFixed(2)}), ${vsKserve.median.toFixed(2)}x KServe's best; median ${r.perSecond.toFixed(0)} req/s against bare ${median(bareRuns.map((x) => x.perSecond)).toFixed(0)}`);
            }
          }
          if (!pin.pinned) ratio += ' unpinned';
          rows.push(row(subject, c, runsOf.length, r, ratio, check));
        }
      }

      ctx.progress('serving: 20 hot swaps under load');
      const swapping = (async () => {
        await sleep(300);
        for (let i = 0; i < 20; i++) {
          await admin.deploy(MODEL, 'stable', i % 2 === 0 ? v2.bundleDir : v1.bundleDir);
          await sleep(100);
        }
      })();
      const underSwaps = await runWrk(pin, scripts.get(subjects[1]!)!, subjects[1]!.url, 8, SECONDS + 2);
      await swapping;
      if (underSwaps.failures) throw new BenchFailure(`serving: ${underSwaps.failures} requests failed during hot swaps`);
      rows.push(row({ ...subjects[1]!, name: `modelship serve during 20 hot swaps, ${underSwaps.failures} failed` }, 8, 1, underSwaps, ''));
      return {
        rows,
        notes: [
          ...notes,
          `serving: ${rounds} interleaved rounds of ${SECONDS}s runs per case (after ${WARMUP_SECONDS}s of warm-up each), req/s and latency of the median run; "x bare" is the median of the per-round ratios to the bare node:http + onnxruntime-node server's run of the same round, (min–max) over the rounds; the goal is reported, not asserted`,
          `serving: ${pin.note}; 1-minute load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end on ${availableParallelism()} cores (per concurrency, start→end: ${loads.join(', ')})`,
        ],
      };
    } finally {
      for (const child of children) await stopServer(child).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  },
};
