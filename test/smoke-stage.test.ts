// The smoke stage on a real dev server: the sandboxed engine against onnxruntime-node, the
// signed test result, failures with their figures, and hostile plugins contained.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { verifyBundle } from '../src/bundle/verify.js';
import { loadPublicKey } from '../src/crypto/keys.js';
import { verifyEnvelope, IN_TOTO_PAYLOAD_TYPE } from '../src/crypto/dsse.js';
import { TEST_RESULT_V01 } from '../src/attest/test-result.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { releaseStatusQuery } from '../src/workflow-definitions.js';
import { startReleaseEnv, type ReleaseEnv } from './helpers/release-env.js';
import { eventsOfType, historyJson, historyStrings } from './helpers/history.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const CNN = join(PROJECT_ROOT, 'models', 'cnn', 'small-cnn.onnx');
const PLUGINS = join(PROJECT_ROOT, 'dist', 'plugins');
const PYTHON = join(PROJECT_ROOT, '.venv', 'bin', 'python');

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => assert.fail('the release must fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
  return err.cause;
}

describe('smoke stage', () => {
  let env: ReleaseEnv;
  let models: string;
  before(async () => {
    env = await startReleaseEnv();
    models = join(env.dir, 'models');
    execFileSync(PYTHON, [join(PROJECT_ROOT, 'test', 'fixtures', 'make_smoke_models.py'), models]);
  });
  after(async () => {
    await env?.stop();
  });

  for (const [label, model] of [
    ['the sample MLP', SAMPLE],
    ['the small CNN', CNN],
  ] as const) {
    it(`${label} passes smoke within 1e-4 of onnxruntime-node, with a signed test result`, async () => {
      const handle = await env.start(env.request({ name: label.includes('CNN') ? 'small-cnn' : 'sample-mlp', source: { kind: 'onnx', path: model } }));
      const result = (await handle.result()) as Awaited<ReturnType<ReleaseEnv['release']>>;
      assert.equal(result.smoke?.result, 'PASSED');
      assert.ok(result.smoke!.maxAbsDiff <= 1e-4, `max abs diff ${result.smoke!.maxAbsDiff}`);

      const status = await handle.query(releaseStatusQuery);
      const smoke = status.stages.find((s) => s.name === 'smoke')!.state;
      assert.equal(smoke.status, 'succeeded');
      assert.ok(smoke.status === 'succeeded' && typeof smoke.summary.maxAbsDiff === 'number');
      // No trust folder on this worker: the bundle was verified against the release's own key.
      assert.match(String(smoke.summary.verifiedBy), /^release-keys /);
      assert.equal(smoke.summary.verifiedKids, env.key.kid);
      assert.equal(smoke.summary.verifiedRootDigest, `sha256:${result.rootDigest}`);
      const text = historyStrings(await historyJson(handle)).join('\n');
      assert.match(text, /"maxAbsDiff"/, 'the figures are in history');

      const key = await loadPublicKey(env.key.publicKeyPath);
      const bundleDir = await env.bundleDirOf(result);
      const report = await verifyBundle(bundleDir, key);
      assert.equal(report.ok, true, JSON.stringify(report.checks));
      const envelope = JSON.parse(await readFile(join(bundleDir, 'attestations', 'smoke.dsse.json'), 'utf8')) as unknown;
      const statement = JSON.parse(verifyEnvelope(envelope, key, IN_TOTO_PAYLOAD_TYPE).toString('utf8')) as {
        predicateType: string;
        subject: Array<{ digest: { sha256: string } }>;
        predicate: { result: string; configuration: Array<{ name: string }> };
      };
      assert.equal(statement.predicateType, TEST_RESULT_V01);
      assert.equal(statement.subject[0]!.digest.sha256, result.rootDigest);
      assert.equal(statement.predicate.result, 'PASSED');
      assert.ok(statement.predicate.configuration.some((c) => c.name.startsWith('onnxruntime-web@')));
    });
  }

  it('fails a model that produces NaN, saying how many values', async () => {
    const cause = await failureOf(env.release(env.request({ name: 'nan-sqrt', source: { kind: 'onnx', path: join(models, 'nan-sqrt.onnx') } })));
    assert.match(cause.message, /failed at smoke: .*y: \d+ of 8 values are NaN or infinite/);
  });

  it('non-finite outputs on generated integers name the inputs left at the default range, and the flag that sets it', async () => {
    const cause = await failureOf(env.release(env.request({ name: 'sqrt-mask', source: { kind: 'onnx', path: join(models, 'sqrt-mask.onnx') } })));
    assert.match(cause.message, /roots: \d+ of \d+ values are NaN or infinite \(on generated inputs: mask took integers 0\.\.3, the default; .*--smoke-int-range mask=MIN:MAX/);
    // With the range set as the hint says, the same model passes.
    const result = await env.release(env.request({ name: 'sqrt-mask', version: '1.0.1', source: { kind: 'onnx', path: join(models, 'sqrt-mask.onnx') }, smoke: { intRanges: { mask: { min: 1, max: 3 } } } }));
    assert.equal(result.smoke?.result, 'PASSED');
  });

  it('fails when sandbox and native disagree beyond the tolerance, with the measured difference', async () => {
    // Float sums in a different order differ in the last bits; a zero tolerance makes that a disagreement.
    const request = env.request({ name: 'small-cnn', source: { kind: 'onnx', path: CNN }, smoke: { tolerance: { absolute: 0, relative: 0 } } });
    const handle = await env.start(request);
    const cause = await failureOf(handle.result());
    assert.match(
      cause.message,
      /failed at smoke: sandbox and native outputs disagree: probabilities: \d+ of 10 elements outside \|s − n\| ≤ 0 \+ 0·\|n\|; worst at \[0, \d\] \(flat \d\): sandbox [\d.e-]+, native [\d.e-]+, difference \d\.\d{3}e-\d+/,
    );
    // The failed result is on record in the store too, signed.
    const report = await verifyBundle(await env.pullRelease('small-cnn', request.version), await loadPublicKey(env.key.publicKeyPath));
    assert.deepEqual(report.checks.filter((c) => !c.ok).map((c) => c.check), ['smoke']);
  });

  it('contains a hostile release plugin (endless loop) by its deadline, and the worker keeps serving', async () => {
    const request = env.request({
      source: { kind: 'onnx', path: SAMPLE },
      smoke: { timeoutMs: 1000, plugins: [{ path: join(PLUGINS, 'hostile-loop.wasm'), function: 'run' }] },
    });
    const handle = await env.start(request);
    const cause = await failureOf(handle.result());
    assert.match(cause.message, /failed at smoke: .*(deadline|timed out|timeout)/i);
    const failed = eventsOfType(await historyJson(handle), 'EVENT_TYPE_ACTIVITY_TASK_FAILED');
    const info = (failed[0]!.activityTaskFailedEventAttributes as { failure: { applicationFailureInfo: { type: string; nonRetryable: boolean } } }).failure.applicationFailureInfo;
    assert.equal(info.type, 'SandboxTimeout');
    assert.equal(info.nonRetryable, true);
    const next = await env.release(env.request({ source: { kind: 'onnx', path: SAMPLE } }));
    assert.equal(next.smoke?.result, 'PASSED');
  });

  it("runs the release's own check plugin: it passes softmax outputs and fails others, with its message", async () => {
    const check = { path: join(PLUGINS, 'example-probability-check.wasm') };
    const ok = await env.release(env.request({ source: { kind: 'onnx', path: SAMPLE }, smoke: { plugins: [check] } }));
    assert.equal(ok.smoke?.result, 'PASSED');
    const cause = await failureOf(env.release(env.request({ name: 'relu', source: { kind: 'onnx', path: join(models, 'relu.onnx') }, smoke: { plugins: [check] } })));
    assert.match(cause.message, /failed at smoke: smoke plugin .*example-probability-check\.wasm failed the model: row \d+ (sums to|has value)/);
  });

  it('refuses a release plugin that imports WASI file functions before it runs', async () => {
    const request = env.request({ source: { kind: 'onnx', path: SAMPLE }, smoke: { plugins: [{ path: join(PLUGINS, 'hostile-wasi.wasm'), function: 'run' }] } });
    const cause = await failureOf(env.release(request));
    assert.match(cause.message, /failed at smoke: .*wasi/i);
  });
});
