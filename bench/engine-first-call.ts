/**
 * One sandboxed call in a fresh process, timed from before the engine is verified and compiled
 * to the outputs (`seconds`), and split as a worker sees it: preparing the first instance
 * (verify, compile, thread, warm-up; a worker does this at start) and then the call.
 *   node dist/bench/engine-first-call.js MODEL.onnx '<smoke options JSON>'
 */
import { readFile } from 'node:fs/promises';
import { inspectOnnxModel } from '../src/native/inspect-model.js';
import { smokeInputs } from '../src/smoke/smoke-inputs.js';
import { prepareEngineThread, runOnnxInSandbox } from '../src/sandbox/onnx-engine.js';
import { sandboxFixupFor } from '../src/sandbox/model-fixups.js';
import { SandboxEngineError } from '../src/errors/index.js';

const [path, smoke = '{}'] = process.argv.slice(2);
if (!path) throw new Error('usage: engine-first-call.js MODEL.onnx [SMOKE_OPTIONS_JSON]');
const bytes = await readFile(path);
const inputs = await smokeInputs(bytes, (await inspectOnnxModel(path)).inputs, JSON.parse(smoke));
const started = performance.now();
await prepareEngineThread();
const prepared = performance.now();
try {
  await runOnnxInSandbox(bytes, inputs, { timeoutMs: 300_000 });
} catch (err) {
  // As smoke does: a refusal a recorded host fix-up answers runs the fixed-up bytes (timed too).
  const fixup = err instanceof SandboxEngineError && err.phase === 'load' ? sandboxFixupFor(bytes, err.engineMessage) : null;
  if (!fixup) throw err;
  await runOnnxInSandbox(fixup.bytes, inputs, { timeoutMs: 300_000 });
}
const done = performance.now();
process.stdout.write(JSON.stringify({ seconds: (done - started) / 1000, prepareSeconds: (prepared - started) / 1000, callSeconds: (done - prepared) / 1000 }) + '\n');
