/**
 * Sandbox against native on one model and one set of inputs, in the same run, the way smoke
 * uses each: the sandboxed call (a fresh engine instance in its own thread, prepared between
 * calls; the engine compiled once per process) against onnxruntime-node creating a session and running once at the same thread
 * count; warm runs of one sandboxed session against a warm native session; and the first call
 * of a fresh process (the engine verified and compiled too), on its own.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ort from 'onnxruntime-node';
import { prepareEngineThread, runEngine, runOnnxInSandbox, DEFAULT_ENGINE_THREADS } from '../src/sandbox/onnx-engine.js';
import { typedValues, type Tensor } from '../src/tensor/tensor.js';
import { median } from './format.js';
import { timedMedian } from './measure.js';

const FIRST_CALL_SCRIPT = fileURLToPath(new URL('./engine-first-call.js', import.meta.url));

export interface EngineFigures {
  /** Seconds, medians. */
  readonly nativeCall: number;
  readonly sandboxCall: number;
  /** The same call with two threads inside the sandbox (the default is one). */
  readonly sandboxCallTwoThreads: number;
  readonly nativeWarm: number;
  readonly sandboxWarm: number;
  readonly firstCallFreshProcess: number;
  /** The same, split: preparing the first instance (a worker does it at start), then the call. */
  readonly freshProcessPrepare: number;
  readonly freshProcessCall: number;
}

function feeds(inputs: readonly Tensor[]): Record<string, ort.Tensor> {
  return Object.fromEntries(inputs.map((t) => [t.name, new ort.Tensor(t.type as ort.Tensor.Type, typedValues(t) as Float32Array, [...t.dims])]));
}

const NATIVE_OPTIONS: ort.InferenceSession.SessionOptions = { logSeverityLevel: 4, intraOpNumThreads: DEFAULT_ENGINE_THREADS, interOpNumThreads: 1 };

async function nativeCall(bytes: Uint8Array, inputs: readonly Tensor[]): Promise<void> {
  const session = await ort.InferenceSession.create(bytes, NATIVE_OPTIONS);
  try {
    await session.run(feeds(inputs));
  } finally {
    await session.release();
  }
}

/** A contender: what is timed, and what it needs ready first (untimed). */
interface Contender {
  readonly run: () => Promise<unknown>;
  readonly ready?: () => Promise<unknown>;
}

/** Two contenders timed in turns (order alternating per run), so load on the shared machine hits both alike. */
async function pairedMedians(runs: number, a: Contender, b: Contender): Promise<[number, number]> {
  const ta: number[] = [];
  const tb: number[] = [];
  const time = async (c: Contender, into: number[]) => {
    await c.ready?.();
    const start = performance.now();
    await c.run();
    into.push((performance.now() - start) / 1000);
  };
  for (let i = 0; i < runs; i++) {
    const [first, second] = i % 2 === 0 ? ([[a, ta], [b, tb]] as const) : ([[b, tb], [a, ta]] as const);
    await time(first[0], first[1]);
    await time(second[0], second[1]);
  }
  return [median(ta), median(tb)];
}

/**
 * A smoke call as a worker makes it between releases: the engine instance it takes was prepared
 * after the previous call settled (onnx-engine.ts), so the call pays for the session and the run
 * in an isolated instance, not for starting the thread. The first call of a fresh process, which
 * does pay for it, is timed on its own.
 */
const sandboxCall = (bytes: Uint8Array, inputs: readonly Tensor[], threads = DEFAULT_ENGINE_THREADS): Contender => ({
  ready: () => prepareEngineThread({ threads }),
  run: () => runOnnxInSandbox(bytes, inputs, { timeoutMs: 300_000, threads }),
});

/** `modelPath` and `smoke` let a fresh process rebuild the same inputs for its first call. */
/** `sandboxBytes`: what the sandbox runs when a host fix-up applies (model-fixups.ts); native always runs `bytes`. */
export async function engineFigures(bytes: Uint8Array, inputs: readonly Tensor[], runs: number, fresh: { modelPath: string; smoke: unknown }, sandboxBytes: Uint8Array = bytes): Promise<EngineFigures> {
  const [nativeCallS, sandboxCallS] = await pairedMedians(runs, { run: () => nativeCall(bytes, inputs) }, sandboxCall(sandboxBytes, inputs));
  const [, sandboxCallTwoThreads] = await pairedMedians(runs, sandboxCall(sandboxBytes, inputs), sandboxCall(sandboxBytes, inputs, 2));
  const session = await ort.InferenceSession.create(bytes, NATIVE_OPTIONS);
  const warmFeeds = feeds(inputs);
  await session.run(warmFeeds);
  const nativeWarm = await timedMedian(runs * 2, () => session.run(warmFeeds));
  await session.release();
  const warmRun = await runEngine(sandboxBytes, inputs, { timeoutMs: 300_000, warmRuns: runs * 2 });
  const sandboxWarm = median(warmRun.timings.warmRunMs.map((ms) => ms / 1000));
  const { stdout } = await promisify(execFile)(process.execPath, [FIRST_CALL_SCRIPT, fresh.modelPath, JSON.stringify(fresh.smoke)], { maxBuffer: 1 << 20 });
  const fresh1 = JSON.parse(stdout) as { seconds: number; prepareSeconds: number; callSeconds: number };
  return {
    nativeCall: nativeCallS,
    sandboxCall: sandboxCallS,
    sandboxCallTwoThreads,
    nativeWarm,
    sandboxWarm,
    firstCallFreshProcess: fresh1.seconds,
    freshProcessPrepare: fresh1.prepareSeconds,
    freshProcessCall: fresh1.callSeconds,
  };
}
