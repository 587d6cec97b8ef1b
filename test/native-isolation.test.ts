// onnxruntime-node in its own child process: the same answers as in-process, and a model that
// hangs it, exhausts its memory ceiling or gets it killed fails that call by name while the
// worker goes on. Also: the sandbox compiles the engine once per process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { PROJECT_ROOT } from '../src/paths.js';
import { runNative } from '../src/smoke/native-runner.js';
import { answerNativeRequest } from '../src/native/ort-session.js';
import { NativeRuntimeFailure } from '../src/errors/index.js';
import { inspectOnnxModel } from '../src/native/inspect-model.js';
import { CorruptModelError } from '../src/errors/index.js';
import { generateInputs } from '../src/smoke/test-inputs.js';
import { runOnnxInSandbox } from '../src/sandbox/onnx-engine.js';
import { compiledModuleCount } from '../src/sandbox/compiled-module.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { startReleaseEnv, type ReleaseEnv } from './helpers/release-env.js';
import { eventsOfType, historyJson } from './helpers/history.js';
import { releaseStatusQuery } from '../src/workflow-definitions.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const PYTHON = join(PROJECT_ROOT, '.venv', 'bin', 'python');
const CEILING = 512 * 1024 * 1024;
const X: Tensor = { name: 'x', type: 'float32', dims: [2, 4], data: new Uint8Array(new Float32Array([1, -2, 3, -4, 5, -6, 7, -8]).buffer) };

/** Pids of this process's onnxruntime children. */
function nativeChildren(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes('native/child.js'))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

/** Sends `signal` to the first onnxruntime child that appears (polling), and returns its pid. */
async function killFirstChild(signal: NodeJS.Signals): Promise<number> {
  for (let i = 0; i < 400; i++) {
    const [pid] = nativeChildren();
    if (pid) {
      process.kill(pid, signal);
      return pid;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no onnxruntime child process appeared');
}

async function nativeFailure(promise: Promise<unknown>, type: string): Promise<NativeRuntimeFailure> {
  const err = await promise.then(
    () => assert.fail(`expected ${type}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof NativeRuntimeFailure, String(err));
  assert.equal(err.type, type);
  assert.equal(err.retryable, false);
  return err;
}

describe('onnxruntime in a child process', () => {
  let models: string;
  before(async () => {
    models = await mkdtemp(join(tmpdir(), 'modelship-native-'));
    execFileSync(PYTHON, [join(PROJECT_ROOT, 'test', 'fixtures', 'make_smoke_models.py'), models]);
  });
  after(async () => {
    await rm(models, { recursive: true, force: true });
  });

  it('gives the same outputs, bit for bit, as onnxruntime in this process', async () => {
    const bytes = await readFile(SAMPLE);
    const info = await inspectOnnxModel(SAMPLE);
    const inputs = generateInputs(info.inputs.map((i) => ({ ...i, shape: i.shape.map((d) => (typeof d === 'number' ? d : 3)) })), 5);
    const child = await runNative(bytes, inputs, { timeoutMs: 30_000 });
    const inProcess = await answerNativeRequest({ op: 'run', model: bytes, inputs });
    assert.ok(inProcess.ok && inProcess.op === 'run');
    assert.deepEqual(child.map((t) => [t.name, t.type, t.dims, Buffer.from(t.data).toString('hex')]), inProcess.outputs.map((t) => [t.name, t.type, t.dims, Buffer.from(t.data).toString('hex')]));
    assert.deepEqual(nativeChildren(), [], 'the child exited after answering');
  });

  it('stops a model that never finishes at the deadline: NativeTimeout', async () => {
    const err = await nativeFailure(runNative(await readFile(join(models, 'hang.onnx')), [X], { timeoutMs: 1500 }), 'NativeTimeout');
    assert.match(err.message, /did not answer within 1500 ms.*--smoke-timeout/);
    assert.deepEqual(nativeChildren(), []);
  });

  it('stops a model that needs more than the memory ceiling: NativeMemoryLimit', async () => {
    const err = await nativeFailure(runNative(await readFile(join(models, 'memory-hog.onnx')), [X], { timeoutMs: 30_000, memoryBytes: CEILING }), 'NativeMemoryLimit');
    assert.match(err.message, /ceiling of 512 MiB.*MODELSHIP_NATIVE_MEMORY_MIB/);
  });

  for (const signal of ['SIGSEGV', 'SIGABRT', 'SIGKILL'] as const) {
    it(`reports a child killed by ${signal} as NativeRuntimeCrashed`, async () => {
      const running = runNative(await readFile(join(models, 'hang.onnx')), [X], { timeoutMs: 60_000 });
      await killFirstChild(signal);
      const err = await nativeFailure(running, 'NativeRuntimeCrashed');
      assert.match(err.message, new RegExp(`killed by ${signal} before answering.*the worker is unaffected`));
    });
  }

  it('fails the load check of a model onnxruntime cannot load with CorruptModelError naming it', async () => {
    const path = join(models, 'hang.onnx');
    const bytes = await readFile(path);
    const broken = join(models, 'broken.onnx');
    // A valid header (so the parent's reader accepts it) whose graph names an operator onnxruntime lacks.
    await import('node:fs/promises').then((fs) => fs.writeFile(broken, Buffer.from(bytes.toString('latin1').replace('Identity', 'Idxntity'), 'latin1')));
    await assert.rejects(inspectOnnxModel(broken), (err: unknown) => err instanceof CorruptModelError && /onnxruntime-node cannot load broken\.onnx/.test(err.message));
  });

  it('keeps answering after all of that, in the same process', async () => {
    const out = await runNative(await readFile(join(models, 'relu.onnx')), [X], { timeoutMs: 30_000 });
    assert.deepEqual([...new Float32Array(Uint8Array.from(out[0]!.data).buffer)], [1, 0, 3, 0, 5, 0, 7, 0]);
  });
});

describe('the sandboxed engine', () => {
  it('is compiled once per process; each call still gets a fresh instance', async () => {
    const bytes = await readFile(SAMPLE);
    const inputs = generateInputs([{ name: 'features', type: 'float32', shape: [2, 4] }], 1);
    const first = await runOnnxInSandbox(bytes, inputs);
    const compiled = compiledModuleCount();
    for (let i = 0; i < 3; i++) assert.deepEqual(await runOnnxInSandbox(bytes, inputs), first);
    assert.equal(compiledModuleCount(), compiled, 'no further compilation');
  });
});

describe('smoke stage with a native child that fails', () => {
  let env: ReleaseEnv;
  let models: string;
  before(async () => {
    env = await startReleaseEnv({ nativeMemoryBytes: CEILING });
    models = join(env.dir, 'models');
    execFileSync(PYTHON, [join(PROJECT_ROOT, 'test', 'fixtures', 'make_smoke_models.py'), models]);
  });
  after(async () => {
    await env?.stop();
  });

  async function failureMessage(promise: Promise<unknown>): Promise<string> {
    const err = await promise.then(
      () => assert.fail('the release must fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
    return err.cause.message;
  }

  /** Waits until the release runs its smoke stage (export's load check has its own child). */
  async function untilSmoke(handle: Awaited<ReturnType<ReleaseEnv['start']>>): Promise<void> {
    for (let i = 0; i < 600; i++) {
      const status = await handle.query(releaseStatusQuery);
      if (status.stages.find((s) => s.name === 'smoke')?.state.status === 'running') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the release never reached smoke');
  }

  for (const [label, model, type, act] of [
    ['exceeds its memory ceiling', 'memory-hog.onnx', 'NativeMemoryLimit', async () => undefined],
    ['is killed (SIGKILL)', 'hang.onnx', 'NativeRuntimeCrashed', async (handle: Awaited<ReturnType<ReleaseEnv['start']>>) => {
      await untilSmoke(handle);
      await killFirstChild('SIGKILL');
    }],
  ] as const) {
    it(`fails smoke by name when onnxruntime ${label}, and the next release on the same worker passes`, async () => {
      const handle = await env.start(env.request({ name: label.startsWith('exceeds') ? 'memory-hog' : 'hang', source: { kind: 'onnx', path: join(models, model) }, smoke: { timeoutMs: 60_000 } }));
      await act(handle);
      const message = await failureMessage(handle.result());
      assert.match(message, /failed at smoke: .*onnxruntime/);
      const failed = eventsOfType(await historyJson(handle), 'EVENT_TYPE_ACTIVITY_TASK_FAILED');
      assert.equal(failed.length, 1, 'one attempt: never retried');
      const info = (failed[0]!.activityTaskFailedEventAttributes as { failure: { applicationFailureInfo: { type: string; nonRetryable: boolean } } }).failure.applicationFailureInfo;
      assert.equal(info.type, type);
      assert.equal(info.nonRetryable, true);
      const next = await env.release(env.request({ source: { kind: 'onnx', path: SAMPLE } }));
      assert.equal(next.smoke?.result, 'PASSED');
    });
  }
});
