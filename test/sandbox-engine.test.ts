// The sandbox engine (onnxruntime-web in a thread of its own, src/sandbox/onnx-engine.ts)
// against hostile and broken input: every promise of the sandbox is tried with a case that
// breaks it, and a well-behaved model must run right after each. Real WebAssembly, real
// onnxruntime-web, no stubs.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_ENGINE_DIR, engineCompilationCount, engineImportProblem, loadEngine } from '../src/sandbox/engine-module.js';
import { ENGINE_FUNCTION_IMPORTS, ENGINE_WASM_FILE, ENGINE_WASM_SHA256 } from '../src/sandbox/engine-pin.js';
import { SandboxEngineError, SandboxInvalidModuleError, SandboxMemoryError, SandboxTimeoutError } from '../src/errors/index.js';
import { runEngine, runOnnxInSandbox } from '../src/sandbox/onnx-engine.js';
import { ENGINE_READY, ENGINE_WORKER_TAG, type EngineWorkerReply, type EngineWorkerSetup, type WebAssemblyMemory } from '../src/sandbox/engine-worker.js';
import { nextMessage, startSandboxThread } from '../src/sandbox/sandbox-thread.js';
import { ENGINE_WARM_UP_INPUT, ENGINE_WARM_UP_MODEL_BASE64 } from '../src/sandbox/engine-warm-up-model.js';
import { execFileSync } from 'node:child_process';
import { PROJECT_ROOT } from '../src/paths.js';
import { sandboxWorkerCounts } from '../src/sandbox/sandbox-thread.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../src/errors/index.js';
import { assertMatches, buildModel, randomFloats, runNative, singleOp, tensor, values } from './helpers/onnx-graph.js';
import { pbInt, pbMsg, pbStr } from './helpers/protobuf.js';

const ADD = singleOp(13, { op: 'Add', inputs: ['a', 'b'], outputs: ['c'] }, [
  { name: 'a', type: 'float32', dims: [2, 3] },
  { name: 'b', type: 'float32', dims: [2, 3] },
], [{ name: 'c', type: 'float32', dims: [2, 3] }]);
const ADD_INPUTS = [tensor('a', 'float32', [2, 3], [1, 2, 3, 4, 5, 6]), tensor('b', 'float32', [2, 3], [10, 20, 30, 40, 50, 60])];

/** A well-behaved call, run after every hostile one: the engine (and this process) go on. */
async function assertEngineStillWorks(): Promise<void> {
  const [c] = await runOnnxInSandbox(ADD, ADD_INPUTS);
  assert.deepEqual(values(c!), [11, 22, 33, 44, 55, 66]);
}

async function rejection<T extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => T): Promise<T> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  return caught;
}

function assertNamedNonRetryable(err: { type: string; retryable: boolean }): void {
  assert.equal(err.retryable, false);
  assert.ok(NON_RETRYABLE_ERROR_TYPES.includes(err.type), `${err.type} is not in the non-retryable list`);
}

/** y = Expand(x, shape): a tiny model whose one output is as large as `shape` says. */
function expandTo(shape: readonly number[]): Uint8Array {
  return buildModel({
    opset: 13,
    nodes: [{ op: 'Expand', inputs: ['x', 'shape'], outputs: ['y'] }],
    inputs: [{ name: 'x', type: 'float32', dims: [1] }],
    outputs: [{ name: 'y', type: 'float32' }],
    initializers: [tensor('shape', 'int64', [shape.length], shape)],
  });
}

/** y = Identity(w), where w's bytes are external data at `location` (a TensorProto with data_location EXTERNAL). */
function externalDataModel(location: string, length: number): Uint8Array {
  const entry = (key: string, value: string) => pbMsg(13, pbStr(1, key), pbStr(2, value));
  const initializer = pbMsg(5, pbInt(1, length / 4), pbInt(2, 1), pbStr(8, 'w'), entry('location', location), entry('offset', '0'), entry('length', String(length)), pbInt(14, 1));
  const graph = pbMsg(
    7,
    pbMsg(1, pbStr(1, 'w'), pbStr(2, 'y'), pbStr(3, 'id'), pbStr(4, 'Identity')),
    pbStr(2, 'g'),
    initializer,
    pbMsg(12, pbStr(1, 'y'), pbMsg(2, pbMsg(1, pbInt(1, 1)))),
  );
  return Uint8Array.from([...pbInt(1, 8), ...graph, ...pbMsg(8, pbStr(1, ''), pbInt(2, 13))]);
}

describe('the sandbox engine (onnxruntime-web)', { concurrency: 1 }, () => {
  test('agrees with onnxruntime-node, and is compiled once per process while every call gets a thread and instance of its own', async () => {
    await loadEngine();
    const compiled = engineCompilationCount();
    const want = await runNative(ADD, ADD_INPUTS);
    const threads = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const run = await runEngine(ADD, ADD_INPUTS);
      assert.deepEqual(run.outputs, want);
      threads.add(run.threadId);
    }
    assert.equal(threads.size, 3, 'one thread per call, never reused');
    assert.equal(engineCompilationCount(), compiled, 'the engine is not compiled again');
  });

  test('no state crosses calls: a second model with the same input names gets its own graph', async () => {
    const sub = singleOp(13, { op: 'Sub', inputs: ['a', 'b'], outputs: ['c'] }, [
      { name: 'a', type: 'float32', dims: [2, 3] },
      { name: 'b', type: 'float32', dims: [2, 3] },
    ], [{ name: 'c', type: 'float32', dims: [2, 3] }]);
    await assertEngineStillWorks();
    const [c] = await runOnnxInSandbox(sub, ADD_INPUTS);
    assert.deepEqual(values(c!), [-9, -18, -27, -36, -45, -54]);
    await assertEngineStillWorks();
  });

  test('memory ceiling: a model whose output exceeds the host-created linear memory fails as SandboxMemoryLimit, and the worker goes on', async () => {
    // 4 x 2^26 floats = 1 GiB, against a 128 MiB ceiling.
    const err = await rejection(runOnnxInSandbox(expandTo([4, 1 << 26]), [tensor('x', 'float32', [1], [1])], { maxMemoryBytes: 128 * 1024 * 1024 }), SandboxMemoryError);
    assert.equal(err.type, 'SandboxMemoryLimit');
    assert.equal(err.resource, 'linear-memory');
    assert.equal(err.limitBytes, 128 * 1024 * 1024);
    assert.match(err.message, /onnxruntime-web.*ran out of memory/);
    assertNamedNonRetryable(err);
    await assertEngineStillWorks();
  });

  test('recycled memory: the next call runs on the last call\'s linear memory, zeroed, with the same outputs', async () => {
    // Its own ceiling, so no earlier test's memory is there to take.
    const options = { maxMemoryBytes: 1024 * 1024 * 1024 };
    const model = expandTo([1 << 23]); // a 32 MiB output: the memory grows past its initial 16 MiB
    const first = await runEngine(model, [tensor('x', 'float32', [1], [3])], options);
    assert.equal(first.memoryRecycled, false);
    assert.ok(first.memoryBytes > 32 * 1024 * 1024, `the memory grew (${first.memoryBytes} bytes)`);
    const second = await runEngine(model, [tensor('x', 'float32', [1], [3])], options);
    assert.equal(second.memoryRecycled, true, 'the second call took the first call\'s memory');
    assert.equal(second.memoryBytes, first.memoryBytes, 'the same memory, not grown again');
    assert.notEqual(second.threadId, first.threadId, 'still a fresh thread and instance');
    assert.deepEqual(second.outputs, first.outputs);
    const two = await runEngine(ADD, ADD_INPUTS, { ...options, threads: 2 });
    assert.equal(two.memoryRecycled, false, 'with engine threads of its own inside, a memory is never handed on');
  });

  test('recycled memory is zeroed in the new thread before the engine is instantiated on it', async () => {
    const engine = await loadEngine();
    const PAGE = 65_536;
    const Memory = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => WebAssemblyMemory } }).WebAssembly.Memory;
    const prepared = async (recycledMemory: boolean) => {
      const memory = new Memory({ initial: 512, maximum: 4096, shared: true });
      // What a hostile model could have left behind, at the top of the memory (beyond anything the Add model touches).
      new Uint8Array(memory.buffer).fill(0xab, 256 * PAGE);
      const setup: EngineWorkerSetup = { tag: ENGINE_WORKER_TAG, module: engine.module, loaderUrl: engine.loaderUrl, memoryLimitBytes: 4096 * PAGE, memory, recycledMemory, threads: 1 };
      const thread = startSandboxThread({ workerUrl: new URL('../src/sandbox/engine-worker.js', import.meta.url), workerData: setup, resourceLimits: { maxOldGenerationSizeMb: 256 }, functionName: 'test' });
      try {
        assert.equal(await nextMessage(thread.worker), ENGINE_READY);
        const top = new Uint8Array(memory.buffer, 511 * PAGE, PAGE);
        const leftOver = top.some((b) => b === 0xab);
        const reply = nextMessage(thread.worker);
        thread.worker.postMessage({ model: ADD, externalData: [], inputs: ADD_INPUTS });
        const answer = (await reply) as EngineWorkerReply;
        assert.ok(answer.ok, JSON.stringify(answer));
        assert.deepEqual(values(answer.outputs[0]!), [11, 22, 33, 44, 55, 66]);
        return leftOver;
      } finally {
        await thread.worker.terminate();
      }
    };
    assert.equal(await prepared(true), false, 'a recycled memory holds nothing of its last use once the instance is ready');
    // The control: without the flag the bytes are still there (the check above can fail).
    assert.equal(await prepared(false), true);
  });

  test('the warm-up model every instance runs while it is prepared is what its script builds, and runs in both engines alike', async () => {
    const built = execFileSync(join(PROJECT_ROOT, '.venv', 'bin', 'python'), [join(PROJECT_ROOT, 'scripts', 'make_engine_warm_up_model.py')], { encoding: 'utf8' }).trim();
    assert.equal(built, ENGINE_WARM_UP_MODEL_BASE64, 'regenerate src/sandbox/engine-warm-up-model.ts with scripts/make_engine_warm_up_model.py');
    const model = Uint8Array.from(Buffer.from(ENGINE_WARM_UP_MODEL_BASE64, 'base64'));
    const count = ENGINE_WARM_UP_INPUT.dims.reduce((a, b) => a * b, 1);
    const input = randomFloats(ENGINE_WARM_UP_INPUT.name, ENGINE_WARM_UP_INPUT.dims, 3);
    assert.equal(values(input).length, count);
    assertMatches(await runOnnxInSandbox(model, [input]), await runNative(model, [input]), 1e-4, 1e-4, 'warm-up model');
  });

  test('a model too large for the ceiling is refused before it is loaded, saying its size, the limit and what to do', async () => {
    const big = new Uint8Array(200 * 1024 * 1024);
    const err = await rejection(runOnnxInSandbox(big, [], { maxMemoryBytes: 256 * 1024 * 1024 }), SandboxMemoryError);
    assert.match(err.message, /the model is 200 MiB.*above the sandbox's limit of 256 MiB; raise it with --smoke-max-memory-mib \d+/);
  });

  test('deadline: a call still running at its deadline has its thread terminated (SandboxTimeout), and the worker goes on', async () => {
    const n = 2048;
    const matmul = singleOp(13, { op: 'MatMul', inputs: ['a', 'b'], outputs: ['c'] }, [
      { name: 'a', type: 'float32', dims: [n, n] },
      { name: 'b', type: 'float32', dims: [n, n] },
    ], [{ name: 'c', type: 'float32', dims: [n, n] }]);
    const ones = (name: string) => ({ name, type: 'float32' as const, dims: [n, n], data: new Uint8Array(new Float32Array(n * n).fill(1).buffer) });
    const before = sandboxWorkerCounts();
    // Eight chained multiplications of 2048x2048 (about 140 GFLOP) cannot finish in 200 ms anywhere.
    const err = await rejection(runEngine(matmul, [ones('a'), ones('b')], { timeoutMs: 200, warmRuns: 8 }), SandboxTimeoutError);
    assert.equal(err.type, 'SandboxTimeout');
    assert.equal(err.deadlineMs, 200);
    assert.equal(err.stopped, true, err.message);
    assertNamedNonRetryable(err);
    // The call's thread is gone; the one thread that may have been added is the next call's
    // instance, prepared once the call settled (a leaked thread would make it two).
    assert.ok(sandboxWorkerCounts().running <= before.running + 1, `the thread was terminated (running ${sandboxWorkerCounts().running}, before ${before.running})`);
    await assertEngineStillWorks();
  });

  test('a corrupt or truncated model is a SandboxEngineError at load, naming onnxruntime\'s reason', async () => {
    const garbage = await rejection(runOnnxInSandbox(Uint8Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff), []), SandboxEngineError);
    assert.equal(garbage.phase, 'load');
    assert.match(garbage.message, /could not load the model: .+/);
    const truncated = await rejection(runOnnxInSandbox(ADD.subarray(0, Math.floor(ADD.length / 2)), ADD_INPUTS), SandboxEngineError);
    assert.equal(truncated.phase, 'load');
    assertNamedNonRetryable(truncated);
    await assertEngineStillWorks();
  });

  test('no file system: external data naming a file in the working directory (package.json) is not readable from inside', async () => {
    const err = await rejection(runOnnxInSandbox(externalDataModel('package.json', 16), []), SandboxEngineError);
    assert.equal(err.phase, 'load');
    assert.match(err.message, /package\.json/);
    // Given as bytes by the host (resolved against a bundle), the same model runs.
    const data = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    const [y] = await runOnnxInSandbox(externalDataModel('weights.bin', 16), [], { externalData: [{ path: 'weights.bin', data }] });
    assert.deepEqual(values(y!), [1, 2, 3, 4]);
  });

  test('exact module: an engine whose WebAssembly differs from the recorded SHA-256 is refused before it runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modelship-engine-'));
    try {
      // A copy of the installed package with one byte of the module changed.
      const pkg = dirname(DEFAULT_ENGINE_DIR);
      await cp(pkg, join(dir, 'onnxruntime-web'), { recursive: true });
      const wasmPath = join(dir, 'onnxruntime-web', 'dist', ENGINE_WASM_FILE);
      const bytes = await readFile(wasmPath);
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
      await writeFile(wasmPath, bytes);
      const err = await rejection(runOnnxInSandbox(ADD, ADD_INPUTS, { engineDir: join(dir, 'onnxruntime-web', 'dist') }), SandboxInvalidModuleError);
      assert.equal(err.type, 'SandboxInvalidModule');
      assert.ok(err.message.includes(`not the ${ENGINE_WASM_SHA256} recorded for onnxruntime-web 1.30.0`), err.message);
      assertNamedNonRetryable(err);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await assertEngineStillWorks();
  });

  test('exact imports: the recorded list is the module\'s own, and any other import (WASI, a missing or extra function) is refused', async () => {
    const recorded = [{ module: 'a', name: 'a', kind: 'memory' }, ...ENGINE_FUNCTION_IMPORTS.map((name) => ({ module: 'a', name, kind: 'function' }))];
    assert.equal(engineImportProblem(recorded), null);
    assert.match(engineImportProblem([...recorded, { module: 'wasi_snapshot_preview1', name: 'fd_read', kind: 'function' }])!, /"wasi_snapshot_preview1"."fd_read".*outside the recorded import module/);
    assert.match(engineImportProblem([...recorded, { module: 'a', name: 'zz', kind: 'function' }])!, /"a"."zz", which is not in the recorded import list/);
    assert.match(engineImportProblem(recorded.slice(0, -1))!, /lacks 1 of the recorded imports/);
  });
});
