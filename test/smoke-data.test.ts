// --smoke-data: reference inputs with the outputs the user's framework produced (here onnx's own
// Python reference evaluator, written by test/fixtures/make_smoke_data.py with the project's
// .venv), as an ONNX test_data_set folder or an .npz. Read at the edge and checked against the
// model; in releases on a real dev server the sandbox is compared with them and with native.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { PROJECT_ROOT } from '../src/paths.js';
import { inspectOnnxModel } from '../src/native/inspect-model.js';
import { readSmokeData } from '../src/smoke/smoke-data.js';
import { smokeSpecProblems } from '../src/smoke/input-spec.js';
import { SmokeInputError } from '../src/errors/index.js';
import { parseRollout } from '../src/batch/rollout-file.js';
import { loadPublicKey } from '../src/crypto/keys.js';
import { verifyEnvelope, IN_TOTO_PAYLOAD_TYPE } from '../src/crypto/dsse.js';
import { elementValues } from '../src/tensor/tensor.js';
import type { ModelInfo, ReleaseResult, SmokeResult } from '../src/release/types.js';
import { startReleaseEnv, type ReleaseEnv } from './helpers/release-env.js';
import { activityResults, eventsOfType, historyJson } from './helpers/history.js';
import { processEnv, runCli } from './helpers/processes.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const PYTHON = join(PROJECT_ROOT, '.venv', 'bin', 'python');

function makeData(dir: string): void {
  execFileSync(PYTHON, [join(PROJECT_ROOT, 'test', 'fixtures', 'make_smoke_data.py'), SAMPLE, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => assert.fail('the release must fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
  return err.cause;
}

interface TestResultStatement {
  predicate: { result: string; configuration: Array<{ name: string; digest?: { sha256: string }; annotations?: Record<string, unknown> }>; passedTests: string[]; failedTests: string[] };
}

async function smokeStatement(bundleDir: string, publicKeyPath: string): Promise<TestResultStatement> {
  const envelope = JSON.parse(await readFile(join(bundleDir, 'attestations', 'smoke.dsse.json'), 'utf8')) as unknown;
  return JSON.parse(verifyEnvelope(envelope, await loadPublicKey(publicKeyPath), IN_TOTO_PAYLOAD_TYPE).toString('utf8')) as TestResultStatement;
}

describe('reading smoke data', () => {
  let dir: string;
  let model: ModelInfo;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelship-smoke-data-'));
    makeData(dir);
    model = await inspectOnnxModel(SAMPLE);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads a test_data_set folder (named or by position) and an .npz (by name or by position, stored or deflated) into the same tensors', async () => {
    const read = await Promise.all(['set', 'unnamed-set', 'data.npz', 'positional.npz'].map((f) => readSmokeData(join(dir, f), model)));
    for (const d of read) {
      assert.deepEqual(d.inputs.map((t) => [t.name, t.type, t.dims]), [['features', 'float32', [2, 4]]]);
      assert.deepEqual(d.expected.map((t) => [t.name, t.type, t.dims]), [['probabilities', 'float32', [2, 3]]]);
      assert.deepEqual(Array.from(elementValues(d.inputs[0]!)), Array.from(elementValues(read[0]!.inputs[0]!)));
      assert.deepEqual(Array.from(elementValues(d.expected[0]!)), Array.from(elementValues(read[0]!.expected[0]!)));
    }
    // The reference evaluator's softmax rows sum to 1: these really are the model's outputs.
    const y = Array.from(elementValues(read[0]!.expected[0]!), Number);
    assert.ok(Math.abs(y[0]! + y[1]! + y[2]! - 1) < 1e-5 && Math.abs(y[3]! + y[4]! + y[5]! - 1) < 1e-5, String(y));
    const pb = await readFile(join(dir, 'set', 'output_0.pb'));
    assert.deepEqual(read[0]!.files.find((f) => f.path === 'output_0.pb'), { path: 'output_0.pb', sha256: createHash('sha256').update(pb).digest('hex') });
    assert.equal(read[2]!.files.length, 1);
  });

  for (const [file, pattern] of [
    ['wrong-dtype.npz', /^smoke data wrong-dtype\.npz\[inputs\/features\]: input features must be float32 \["batch", 4\], the file gives float64 \[2, 4\]$/],
    ['wrong-shape.npz', /^smoke data wrong-shape\.npz\[inputs\/features\]: input features must have shape \["batch", 4\], the file gives \[2, 5\]$/],
    ['wrong-output.npz', /^smoke data wrong-output\.npz\[outputs\/probabilities\]: output probabilities must have shape \["batch", 3\], the file gives \[2, 2\]$/],
    ['bad-key.npz', /bad-key\.npz: array "features" is not one of inputs\/<name>, outputs\/<name>, input_<N> or output_<N>/],
    ['missing.npz', /cannot read smoke data .*missing\.npz: no such file or folder/],
  ] as const) {
    it(`${file}: a SmokeInputError naming what is wrong`, async () => {
      await assert.rejects(readSmokeData(join(dir, file), model), (err: Error) => {
        assert.ok(err instanceof SmokeInputError, String(err));
        assert.equal(err.retryable, false);
        assert.match(err.message, pattern);
        return true;
      });
    });
  }

  it('inputs alone, a parent of test_data_set folders and both inputsPath and dataPath are refused with what to do', async () => {
    execFileSync(PYTHON, ['-c', `import numpy as np; np.savez('only-inputs.npz', **{'inputs/features': np.zeros((1, 4), np.float32)})`], { cwd: dir });
    await assert.rejects(readSmokeData(join(dir, 'only-inputs.npz'), model), /holds no expected outputs .*for inputs alone use --smoke-inputs/);
    execFileSync('mkdir', ['-p', join(dir, 'model', 'test_data_set_0')]);
    await assert.rejects(readSmokeData(join(dir, 'model'), model), /holds test_data_set_0: give one data set folder, e\.g\. .*model\/test_data_set_0/);
    assert.deepEqual(smokeSpecProblems({ inputsPath: '/a.npz', dataPath: '/b.npz' }).map((p) => p.field), ['dataPath']);
  });

  it('rollout files take dataPath relative to the file, and refuse it beside inputsPath', () => {
    const parse = (smoke: unknown) =>
      parseRollout(JSON.stringify({ name: 'r', models: [{ name: 'm', version: '1.0.0', path: 'm.onnx', smoke }] }), { file: '/rollouts/r.json', defaultSigningKeyPath: '/keys/k.pem' });
    assert.equal(parse({ dataPath: 'data/ref.npz' }).entries[0]!.smoke?.dataPath, '/rollouts/data/ref.npz');
    assert.throws(() => parse({ dataPath: 'a.npz', inputsPath: 'b.npz' }), /smoke\.dataPath: give inputs either with inputsPath or with dataPath/);
    assert.throws(() => parse({ dataPath: 3 }), /smoke\.dataPath: must be a path/);
  });
});

describe('smoke data in releases', () => {
  let env: ReleaseEnv;
  let data: string;
  before(async () => {
    env = await startReleaseEnv();
    data = join(env.dir, 'data');
    makeData(data);
  });
  after(async () => {
    await env?.stop();
  });

  const smokeOf = async (result: ReleaseResult): Promise<{ smoke: SmokeResult; statement: TestResultStatement }> => {
    const [smoke] = await activityResults<SmokeResult>(env.client.workflow.getHandle(result.releaseId), 'smokeTest');
    assert.ok(smoke, 'the smoke result is in history');
    return { smoke, statement: await smokeStatement(await env.bundleDirOf(result), env.key.publicKeyPath) };
  };

  for (const file of ['set', 'data.npz']) {
    it(`${file}: the sandbox matches the expected outputs and native; both comparisons in history and the signed Test Result`, async () => {
      const dataPath = join(data, file);
      const result = await env.release(env.request({ source: { kind: 'onnx', path: SAMPLE }, smoke: { dataPath } }));
      assert.equal(result.smoke?.result, 'PASSED');
      const { smoke, statement } = await smokeOf(result);
      assert.deepEqual(smoke.inputs, [{ name: 'features', type: 'float32', dims: [2, 4] }], 'the data\'s inputs were used');
      assert.equal(smoke.expected?.dataPath, dataPath);
      assert.deepEqual(smoke.expected.outputs.map((o) => o.name), ['probabilities']);
      assert.ok(smoke.expected.maxAbsDiff <= 1e-4, `vs expected ${smoke.expected.maxAbsDiff}`);
      assert.equal(typeof smoke.expected.outputs[0]!.worst?.expected, 'number');
      assert.ok(smoke.outputs.length === 1 && smoke.maxAbsDiff <= 1e-4, 'and vs native');
      assert.equal(statement.predicate.result, 'PASSED');
      assert.ok(statement.predicate.passedTests.some((t) => t.startsWith('outputs-agree: ')), statement.predicate.passedTests.join('\n'));
      assert.ok(statement.predicate.passedTests.some((t) => t.startsWith(`outputs-match-expected: probabilities from ${dataPath}: max abs `)), statement.predicate.passedTests.join('\n'));
      const digests = statement.predicate.configuration.filter((c) => c.name.startsWith('smoke-data:'));
      assert.deepEqual(digests.map((c) => c.digest?.sha256), smoke.expected.files.map((f) => f.sha256));
      assert.ok(digests.length === (file === 'set' ? 2 : 1));
      assert.equal(statement.predicate.configuration.find((c) => c.name === 'smoke-configuration')?.annotations?.dataPath, dataPath);
    });
  }

  it('expected outputs that disagree fail smoke naming the output, the worst element and both values; native agreed, and both are on record', async () => {
    const request = env.request({ source: { kind: 'onnx', path: SAMPLE }, smoke: { dataPath: join(data, 'disagree.npz') } });
    const handle = await env.start(request);
    const cause = await failureOf(handle.result());
    assert.match(
      cause.message,
      /failed at smoke: sandbox outputs disagree with the expected outputs of .*disagree\.npz: probabilities: 1 of 6 elements outside \|s − n\| ≤ 0\.0001 \+ 0\.001·\|n\|; worst at \[1, 2\] \(flat 5\): sandbox [\d.e-]+, expected \(from --smoke-data\) [\d.e-]+, difference 2\.50\de-1/,
    );
    assert.doesNotMatch(cause.message, /sandbox and native outputs disagree/);
    const failed = eventsOfType(await historyJson(handle), 'EVENT_TYPE_ACTIVITY_TASK_FAILED');
    const info = (failed[0]!.activityTaskFailedEventAttributes as { failure: { applicationFailureInfo: { type: string; nonRetryable: boolean } } }).failure.applicationFailureInfo;
    assert.deepEqual([info.type, info.nonRetryable], ['SmokeFailed', true]);
    const statement = await smokeStatement(await env.pullRelease(request.name, request.version), env.key.publicKeyPath);
    assert.equal(statement.predicate.result, 'FAILED');
    assert.ok(statement.predicate.passedTests.some((t) => t.startsWith('outputs-agree: ')), 'sandbox and native agreed');
    assert.ok(statement.predicate.failedTests.some((t) => /^outputs-match-expected: probabilities: .*worst at \[1, 2\]/.test(t)), statement.predicate.failedTests.join('\n'));
  });

  for (const [file, pattern] of [
    ['wrong-dtype.npz', /input features must be float32 \["batch", 4\], the file gives float64 \[2, 4\]/],
    ['wrong-shape.npz', /input features must have shape \["batch", 4\], the file gives \[2, 5\]/],
  ] as const) {
    it(`${file}: a non-retryable SmokeInputError, and the next release on the same worker passes`, async () => {
      const handle = await env.start(env.request({ source: { kind: 'onnx', path: SAMPLE }, smoke: { dataPath: join(data, file) } }));
      const cause = await failureOf(handle.result());
      assert.match(cause.message, new RegExp(`failed at smoke: smoke data ${file.replace('.', '\\.')}\\[inputs/features\\]: ${pattern.source}`));
      const failed = eventsOfType(await historyJson(handle), 'EVENT_TYPE_ACTIVITY_TASK_FAILED');
      assert.equal(failed.length, 1, 'one attempt: not retried');
      const info = (failed[0]!.activityTaskFailedEventAttributes as { failure: { applicationFailureInfo: { type: string; nonRetryable: boolean } } }).failure.applicationFailureInfo;
      assert.deepEqual([info.type, info.nonRetryable], ['SmokeInputError', true]);
      const next = await env.release(env.request({ source: { kind: 'onnx', path: SAMPLE }, smoke: { dataPath: join(data, 'positional.npz') } }));
      assert.equal(next.smoke?.result, 'PASSED');
    });
  }

  it('the CLI: --smoke-data releases through the worker, and beside --smoke-inputs it is refused before anything starts', async () => {
    const cliEnv = processEnv(env.dir, env.server, env.taskQueue);
    const ok = await runCli(['release', SAMPLE, '--name', 'sample-mlp', '--version', '9.0.0', '--key', env.key.privateKeyPath, '--smoke-data', join(data, 'unnamed-set')], cliEnv);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    assert.match(ok.stdout, /smoke +PASSED/);
    const bad = await runCli(['release', SAMPLE, '--name', 'sample-mlp', '--version', '9.0.1', '--key', env.key.privateKeyPath, '--smoke-data', join(data, 'set'), '--smoke-inputs', join(data, 'data.npz')], cliEnv);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /give --smoke-inputs or --smoke-data .*not both/);
    const failing = await runCli(['release', SAMPLE, '--name', 'sample-mlp', '--version', '9.0.2', '--key', env.key.privateKeyPath, '--smoke-data', join(data, 'disagree.npz')], cliEnv);
    assert.equal(failing.code, 1);
    assert.match(failing.stderr, /expected \(from --smoke-data\)/);
  });
});
