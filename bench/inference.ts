/**
 * Sandbox versus native inference: the same model, the same seeded inputs, the same run.
 * "sandbox" is one smoke call as the smoke stage makes it (fresh thread and instance of
 * onnxruntime-web, session, run); "native" is onnxruntime-node creating a session and running,
 * as the smoke stage does too; "native, warm" reuses one session.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { PROJECT_ROOT } from '../src/paths.js';
import { inspectOnnxModel } from '../src/native/inspect-model.js';
import { generateInputs } from '../src/smoke/test-inputs.js';
import { runNative } from '../src/smoke/native-runner.js';
import { answerNativeRequest } from '../src/native/ort-session.js';
import { runEngine, runOnnxInSandbox } from '../src/sandbox/onnx-engine.js';
import { median } from './format.js';
import { compareOutputs, DEFAULT_TOLERANCE } from '../src/smoke/compare-outputs.js';
import { timedMedian } from './measure.js';
import { BenchFailure, type BenchContext, type BenchResult, type BenchRow, type Benchmark } from './types.js';

const MODELS = [
  { label: 'sample MLP', path: join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx') },
  { label: 'small CNN', path: join(PROJECT_ROOT, 'models', 'cnn', 'small-cnn.onnx') },
];
const BATCH = 32;

export const inferenceBenchmark: Benchmark = {
  name: 'inference',
  plan: (options) => [`inference: sample MLP and small CNN, batch ${BATCH}, sandbox vs onnxruntime-node, ${Math.max(options.runs, 5)} runs each`],
  async run(ctx: BenchContext): Promise<BenchResult> {
    const runs = Math.max(ctx.options.runs, 5);
    const rows: BenchRow[] = [];
    for (const model of MODELS) {
      ctx.progress(`inference: ${model.label}`);
      const bytes = await readFile(model.path);
      const info = await inspectOnnxModel(model.path);
      const signature = info.inputs.map((i) => ({ ...i, shape: i.shape.map((d) => (typeof d === 'number' ? d : BATCH)) }));
      const inputs = generateInputs(signature, 7);
      const isolated = { timeoutMs: 60_000 };
      const verdict = compareOutputs(await runOnnxInSandbox(bytes, inputs), await runNative(bytes, inputs, isolated), DEFAULT_TOLERANCE);
      if (!verdict.ok) throw new BenchFailure(`${model.label}: sandbox and native disagree: ${verdict.reason}`);

      const sandbox = await timedMedian(runs, () => runOnnxInSandbox(bytes, inputs));
      // onnxruntime-node in this process (the peer), and in its own child process as smoke runs it.
      const native = await timedMedian(runs, () => answerNativeRequest({ op: 'run', model: bytes, inputs }));
      const child = await timedMedian(runs, () => runNative(bytes, inputs, isolated));
      const session = await ort.InferenceSession.create(bytes);
      const feeds = Object.fromEntries(inputs.map((t) => [t.name, new ort.Tensor('float32', new Float32Array(Uint8Array.from(t.data).buffer), [...t.dims])]));
      const warm = await timedMedian(runs * 4, () => session.run(feeds));
      await session.release();
      // The engine's own compute: one sandboxed session, run again and again.
      const engineRun = await runEngine(bytes, inputs, { warmRuns: runs * 4 });
      const engineWarm = median(engineRun.timings.warmRunMs.map((ms) => ms / 1000));
      const input = `${model.label}, batch ${BATCH}`;
      rows.push({ bench: 'inference', subject: 'onnxruntime-node (new session + run)', input, runs, medianSeconds: native, ratio: '1.00x (base)' });
      rows.push({ bench: 'inference', subject: 'onnxruntime-node in a child process (smoke)', input, runs, medianSeconds: child, ratio: `${(child / native).toFixed(2)}x` });
      rows.push({ bench: 'inference', subject: 'sandbox (thread + onnxruntime-web instance)', input, runs, medianSeconds: sandbox, ratio: `${(sandbox / native).toFixed(2)}x` });
      rows.push({ bench: 'inference', subject: 'onnxruntime-node (warm session)', input, runs: runs * 4, medianSeconds: warm, ratio: '1.00x (warm base)' });
      rows.push({ bench: 'inference', subject: 'sandbox (warm session)', input, runs: runs * 4, medianSeconds: engineWarm, ratio: `${(engineWarm / warm).toFixed(2)}x warm` });
    }
    return {
      rows,
      notes: [
        'inference: "sandbox" is one smoke call (fresh thread and instance of onnxruntime-web, compiled once per process; session, run) against onnxruntime-node creating a session and running once; "warm session" is one sandboxed session run repeatedly against a warm onnxruntime-node session; ratios are times, higher is slower',
      ],
    };
  },
};
