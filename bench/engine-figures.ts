/**
 * Sandbox against native on one model and one set of inputs, in the same run, the way smoke
 * uses each: the sandboxed call (fresh thread and engine instance, the engine compiled once per
 * process) against onnxruntime-node creating a session and running once at the same thread
 * count; warm runs of one sandboxed session against a warm native session; and the first call
 * of a fresh process (the engine verified and compiled too), on its own.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ort from 'onnxruntime-node';
import { runEngine, runOnnxInSandbox, DEFAULT_ENGINE_THREADS } from '../src/sandbox/onnx-engine.js';
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

/** Two contenders timed in turns (order alternating per run), so load on the shared machine hits both alike. */
async function pairedMedians(runs: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number, number]> {
  const ta: number[] = [];
  const tb: number[] = [];
  const time = async (fn: () => Promise<unknown>, into: number[]) => {
    const start = performance.now();
    await fn();
    into.push((performance.now() - start) / 1000);
  };
  for (let i = 0; i < runs; i++) {
    const [first, second] = i % 2 === 0 ? ([[a, ta], [b, tb]] as const) : ([[b, tb], [a, ta]] as const);
    await time(first[0], first[1]);
    await time(second[0], second[1]);
  }
  return [median(ta), median(tb)];
}

/** `modelPath` and `smoke` let a fresh process rebuild the same inputs for its first call. */
export async function engineFigures(bytes: Uint8Array, inputs: readonly Tensor[], runs: number, fresh: { modelPath: string; smoke: unknown }): Promise<EngineFigures> {
  const [nativeCallS, sandboxCallS] = await pairedMedians(runs, () => nativeCall(bytes, inputs), () => runOnnxInSandbox(bytes, inputs, { timeoutMs: 300_000 }));
  const [, sandboxCallTwoThreads] = await pairedMedians(runs, () => runOnnxInSandbox(bytes, inputs, { timeoutMs: 300_000 }), () => runOnnxInSandbox(bytes, inputs, { timeoutMs: 300_000, threads: 2 }));
  const session = await ort.InferenceSession.create(bytes, NATIVE_OPTIONS);
  const warmFeeds = feeds(inputs);
  await session.run(warmFeeds);
  const nativeWarm = await timedMedian(runs * 2, () => session.run(warmFeeds));
  await session.release();
  const warmRun = await runEngine(bytes, inputs, { timeoutMs: 300_000, warmRuns: runs * 2 });
  const sandboxWarm = median(warmRun.timings.warmRunMs.map((ms) => ms / 1000));
  const { stdout } = await promisify(execFile)(process.execPath, [FIRST_CALL_SCRIPT, fresh.modelPath, JSON.stringify(fresh.smoke)], { maxBuffer: 1 << 20 });
  const firstCallFreshProcess = (JSON.parse(stdout) as { seconds: number }).seconds;
  return { nativeCall: nativeCallS, sandboxCall: sandboxCallS, sandboxCallTwoThreads, nativeWarm, sandboxWarm, firstCallFreshProcess };
}
