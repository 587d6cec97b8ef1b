/**
 * The published-model corpus (models/corpus/corpus.json), sandbox against native, per model
 * (bench/engine-figures.ts): the sandboxed smoke call against onnxruntime-node's new session +
 * run, warm against warm at the same thread count, and the first call of a fresh process. Same
 * inputs (the manifest's smoke options), same run; outputs must agree first. The goal,
 * reported and never asserted: median <= 1.5x native over the corpus and no model above 4x.
 */
import { readFile } from 'node:fs/promises';
import { corpusModelPath, loadCorpus } from '../scripts/lib/corpus.js';
import { inspectOnnxModel } from '../src/native/inspect-model.js';
import { smokeInputs } from '../src/smoke/smoke-inputs.js';
import { runNative } from '../src/smoke/native-runner.js';
import { runOnnxInSandbox } from '../src/sandbox/onnx-engine.js';
import { sandboxFixupFor } from '../src/sandbox/model-fixups.js';
import { quantizationOps } from '../src/smoke/quantized-agreement.js';
import { readGraphInfo } from '../src/onnx/graph-info.js';
import { compareOutputs, DEFAULT_TOLERANCE } from '../src/smoke/compare-outputs.js';
import { errorMessage, SandboxEngineError } from '../src/errors/index.js';
import { median } from './format.js';
import { engineFigures } from './engine-figures.js';
import { BenchFailure, type BenchContext, type BenchResult, type BenchRow, type Benchmark } from './types.js';

const GOAL_MEDIAN = 1.5;
const GOAL_MAX = 4;

export const corpusBenchmark: Benchmark = {
  name: 'corpus',
  plan: (options) => [`corpus: ${loadCorpus().length} published models (models/corpus/corpus.json), sandbox call vs onnxruntime-node new session + run, warm engine vs warm session, ${Math.max(options.runs, 3)} runs each in turns (warm: twice as many)`],
  async run(ctx: BenchContext): Promise<BenchResult> {
    const runs = Math.max(ctx.options.runs, 3);
    const rows: BenchRow[] = [];
    const cold: { id: string; ratio: number }[] = [];
    const warmRatios: { id: string; ratio: number }[] = [];
    const failedToRun: string[] = [];
    const twoThreads: { id: string; ratio: number }[] = [];
    for (const model of loadCorpus()) {
      ctx.progress(`corpus: ${model.id}`);
      const path = corpusModelPath(model);
      const bytes = await readFile(path).catch(() => {
        throw new BenchFailure(`${model.id}: ${path} is missing; run node dist/scripts/fetch-corpus.js`);
      });
      const info = await inspectOnnxModel(path);
      const inputs = await smokeInputs(bytes, info.inputs, model.smoke);
      const input = `${model.id} (${inputs.map((t) => t.dims.join('x') || 'scalar').join(', ')})`;
      const reference = await runNative(bytes, inputs, { timeoutMs: 300_000 });
      let check: string;
      let sandboxBytes: Uint8Array = bytes;
      try {
        let outputs;
        try {
          outputs = await runOnnxInSandbox(bytes, inputs, { timeoutMs: 300_000 });
        } catch (err) {
          // As smoke does: a refusal a recorded host fix-up answers runs the fixed-up bytes.
          const fixup = err instanceof SandboxEngineError && err.phase === 'load' ? sandboxFixupFor(bytes, err.engineMessage) : null;
          if (!fixup) throw err;
          sandboxBytes = fixup.bytes;
          outputs = await runOnnxInSandbox(sandboxBytes, inputs, { timeoutMs: 300_000 });
        }
        // Smoke's comparison, the quantized agreement rule included.
        const ops = quantizationOps(readGraphInfo(bytes));
        const explicit = (output: string) => model.smoke.tolerance !== undefined || model.smoke.outputTolerances?.[output] !== undefined;
        const verdict = compareOutputs(outputs, reference, { ...DEFAULT_TOLERANCE, ...model.smoke.tolerance }, model.smoke.outputTolerances, ops.length ? { ops, explicitTolerance: explicit } : undefined);
        const agreed = verdict.outputs.find((o) => o.agreement?.passedBy);
        check = !verdict.ok
          ? `outputs differ: ${verdict.reason.slice(0, 60)}`
          : agreed?.agreement
            ? `quantized: cosine ${agreed.agreement.cosine.toFixed(5)}`
            : `max abs ${verdict.maxAbsDiff.toExponential(1)}`;
        if (sandboxBytes !== bytes) check += ' (host fix-up)';
      } catch (err) {
        failedToRun.push(`${model.id}: ${errorMessage(err)}`);
        rows.push({ bench: 'corpus', subject: 'sandbox (onnxruntime-web)', input, runs: 0, check: `failed: ${errorMessage(err).slice(0, 80)}` });
        continue;
      }
      const f = await engineFigures(bytes, inputs, runs, { modelPath: path, smoke: model.smoke }, sandboxBytes);
      cold.push({ id: model.id, ratio: f.sandboxCall / f.nativeCall });
      warmRatios.push({ id: model.id, ratio: f.sandboxWarm / f.nativeWarm });
      rows.push({ bench: 'corpus', subject: 'onnxruntime-node (new session + run, 1 thread)', input, runs, medianSeconds: f.nativeCall, ratio: '1.00x (base)' });
      rows.push({ bench: 'corpus', subject: 'sandbox call (fresh engine instance + session + run)', input, runs, medianSeconds: f.sandboxCall, ratio: `${(f.sandboxCall / f.nativeCall).toFixed(2)}x`, check });
      rows.push({ bench: 'corpus', subject: 'sandbox call, 2 threads inside', input, runs, medianSeconds: f.sandboxCallTwoThreads, ratio: `${(f.sandboxCallTwoThreads / f.nativeCall).toFixed(2)}x` });
      twoThreads.push({ id: model.id, ratio: f.sandboxCallTwoThreads / f.sandboxCall });
      rows.push({ bench: 'corpus', subject: 'onnxruntime-node (warm session, 1 thread)', input, runs: runs * 2, medianSeconds: f.nativeWarm, ratio: '1.00x (warm base)' });
      rows.push({ bench: 'corpus', subject: 'sandbox (warm session, 1 thread)', input, runs: runs * 2, medianSeconds: f.sandboxWarm, ratio: `${(f.sandboxWarm / f.nativeWarm).toFixed(2)}x warm` });
      rows.push({ bench: 'corpus', subject: 'sandbox, first call of a fresh process', input, runs: 1, medianSeconds: f.firstCallFreshProcess, ratio: `${(f.firstCallFreshProcess / f.nativeCall).toFixed(2)}x`, check: `instance prepared in ${f.freshProcessPrepare.toFixed(2)} s (a worker does it at start), then the call ${f.freshProcessCall.toFixed(2)} s` });
    }
    const summary = (label: string, list: { id: string; ratio: number }[], goal = true) => {
      if (!list.length) return `${label}: no model ran in the sandbox`;
      const med = median(list.map((r) => r.ratio));
      const worst = list.reduce((a, b) => (b.ratio > a.ratio ? b : a));
      const over = list.filter((r) => r.ratio > GOAL_MAX).map((r) => r.id);
      const met = med <= GOAL_MEDIAN && !over.length;
      if (!goal) return `${label} over ${list.length} models: median ${med.toFixed(2)}x, max ${worst.ratio.toFixed(2)}x (${worst.id}); for reference (the goal is the smoke call's)`;
      return `${label} over ${list.length} models: median ${med.toFixed(2)}x, max ${worst.ratio.toFixed(2)}x (${worst.id}); goal median <= ${GOAL_MEDIAN}x and none > ${GOAL_MAX}x: ${met ? 'met' : `NOT met${over.length ? ` (above ${GOAL_MAX}x: ${over.join(', ')})` : ''}`}`;
    };
    return {
      rows,
      notes: [
        summary('corpus, sandbox call vs native new session + run', cold),
        summary('corpus, warm sandbox session vs warm native session', warmRatios, false),
        ...(twoThreads.length ? [`corpus: 2 threads inside the sandbox take a median ${median(twoThreads.map((r) => r.ratio)).toFixed(2)}x the time of 1 thread per call (min ${Math.min(...twoThreads.map((r) => r.ratio)).toFixed(2)}x)`] : []),
        ...(failedToRun.length ? [`corpus: failed in the sandbox (${failedToRun.length}): ${failedToRun.join('; ')}`] : []),
        'corpus: "sandbox call" is one smoke call (a fresh thread and instance of onnxruntime-web, compiled once per process; session, run) against onnxruntime-node creating a session and running once in this process, both on one thread; ratios are times, higher is slower',
      ],
    };
  },
};
