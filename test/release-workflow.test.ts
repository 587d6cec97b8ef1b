// ReleaseWorkflow end to end on a real dev server, a real worker, real keys and real ONNX models.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { lstat, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { verifyBundle } from '../src/bundle/verify.js';
import { loadPublicKey, generateKeyFiles } from '../src/crypto/keys.js';
import { parseManifest } from '../src/bundle/manifest.js';
import { ModelDigest, ModelName, ModelReference, ModelVersion, ReleaseStage } from '../src/search-attributes.js';
import { releaseStatusQuery } from '../src/workflow-definitions.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { startReleaseEnv, TEST_PASSPHRASE, type ReleaseEnv } from './helpers/release-env.js';
import { activityResults, eventsOfType, historyJson, historyStrings, payloadSizes } from './helpers/history.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const PYTHON = join(PROJECT_ROOT, '.venv', 'bin', 'python');

/** For assert.rejects: the workflow failed, and its cause says this. */
function causeMatches(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
    assert.match(err.cause.message, pattern);
    return true;
  };
}

describe('ReleaseWorkflow on a real Temporal dev server', () => {
  let env: ReleaseEnv;
  before(async () => {
    env = await startReleaseEnv({
      // A stand-in for an exporter that hangs: prints a line, then never finishes.
      exporters: { hanging: { command: ['bash', '-c', 'echo "converting {input}"; exec sleep 300'], timeoutSeconds: 600 } },
    });
  });
  after(async () => {
    await env?.stop();
  });

  it('releases the sample model: bundle verifies, stages and search attributes recorded', async () => {
    const request = env.request({ source: { kind: 'onnx', path: SAMPLE } });
    const handle = await env.start(request);
    const result = (await handle.result()) as Awaited<ReturnType<ReleaseEnv['release']>>;
    // Released through the store (the single-machine default, an OCI layout folder): pull it back.
    assert.match(result.reference ?? '', /^oci-layout:.*\/sample-mlp:1\.0\.\d+-[0-9a-f]+@sha256:[0-9a-f]{64}$/);
    const bundleDir = await env.bundleDirOf(result);
    // Hash and smoke ran on the host that exported: the model came from its blob cache, none from the store.
    for (const activity of ['hashBundle', 'smokeTest']) {
      const [stage] = await activityResults<{ pulled?: { bytesFetched: number; bytesFromCache: number } }>(handle, activity);
      assert.deepEqual(stage?.pulled, { bytesFetched: 0, bytesFromCache: 1630 }, activity);
    }
    const report = await verifyBundle(bundleDir, await loadPublicKey(env.key.publicKeyPath));
    assert.equal(report.ok, true, JSON.stringify(report.checks, null, 2));
    assert.equal(result.kid, env.key.kid);
    const manifest = parseManifest(await readFile(join(bundleDir, 'model.yaml'), 'utf8'));
    assert.equal(manifest.digest.root, result.rootDigest);
    assert.deepEqual(manifest.signature.inputs, [{ name: 'features', type: 'float32', shape: ['batch', 4] }]);
    assert.deepEqual(manifest.framework.opsets, [{ domain: 'ai.onnx', version: 17 }]);

    const attributes = (await handle.describe()).typedSearchAttributes;
    assert.equal(attributes.get(ModelName), request.name);
    assert.equal(attributes.get(ModelVersion), request.version);
    assert.equal(attributes.get(ModelDigest), `sha256:${result.rootDigest}`);
    assert.equal(attributes.get(ModelReference), result.reference);
    assert.equal(attributes.get(ReleaseStage), 'released');

    const status = await handle.query(releaseStatusQuery);
    assert.deepEqual(status.outcome, { state: 'released', bundleDir: result.reference, rootDigest: result.rootDigest });
    assert.deepEqual(status.stages.map((s) => `${s.name}:${s.state.status}`), ['export:succeeded', 'hash:succeeded', 'sign:succeeded', 'attest:succeeded', 'smoke:succeeded', 'canary:skipped']);

    // Each stage's result is in history: the digests, the kid and the file names.
    const history = await historyJson(handle);
    const completed = eventsOfType(history, 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED');
    assert.equal(completed.length, 6); // five stages and the serving-target check
    const text = historyStrings(history).join('\n');
    for (const needle of [result.rootDigest, result.kid, 'sample-mlp.onnx', 'model.jws', 'provenance.dsse.json']) {
      assert.ok(text.includes(needle), `history should mention ${needle}`);
    }
  });

  it('never puts key material, the passphrase or model bytes into history', async () => {
    const request = env.request({ source: { kind: 'onnx', path: SAMPLE } });
    const handle = await env.start(request);
    await handle.result();
    const history = await historyJson(handle);
    const text = historyStrings(history).join('\n');

    const pem = await readFile(env.key.privateKeyPath, 'utf8');
    const der = createPrivateKey({ key: pem, passphrase: TEST_PASSPHRASE }).export({ format: 'der', type: 'pkcs8' });
    const seed = der.subarray(der.length - 32);
    const pemBody = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
    const secrets = [
      TEST_PASSPHRASE,
      seed.toString('hex'),
      seed.toString('base64'),
      seed.toString('base64url'),
      der.toString('base64'),
      ...pemBody,
    ];
    for (const secret of secrets) assert.ok(!text.includes(secret), `history leaks ${secret.slice(0, 12)}...`);

    const model = await readFile(SAMPLE);
    const modelChunk = model.subarray(200, 264);
    for (const form of [modelChunk.toString('base64'), modelChunk.toString('hex'), modelChunk.toString('latin1')]) {
      assert.ok(!text.includes(form), 'history carries model bytes');
    }
    assert.ok(Math.max(...payloadSizes(history)) < 16 * 1024, 'payloads stay small');
  });

  it('fails a corrupt ONNX file at export with a non-retryable error, after one attempt', async () => {
    const corrupt = join(env.dir, 'corrupt.onnx');
    const good = await readFile(SAMPLE);
    await writeFile(corrupt, good.subarray(0, Math.floor(good.length / 2)));
    const request = env.request({ source: { kind: 'onnx', path: corrupt } });
    const handle = await env.start(request);

    const failure = await handle.result().then(
      () => assert.fail('a corrupt model must not release'),
      (err: unknown) => err,
    );
    assert.ok(failure instanceof WorkflowFailedError);
    assert.ok(failure.cause instanceof ApplicationFailure);
    assert.equal(failure.cause.type, 'ReleaseFailed');
    assert.match(failure.cause.message, /failed at export: .*corrupt\.onnx/);

    const history = await historyJson(handle);
    const failed = eventsOfType(history, 'EVENT_TYPE_ACTIVITY_TASK_FAILED');
    assert.equal(failed.length, 1);
    const info = (failed[0]!.activityTaskFailedEventAttributes as { failure: { applicationFailureInfo: { type: string; nonRetryable: boolean } } }).failure
      .applicationFailureInfo;
    assert.equal(info.type, 'CorruptModelError');
    assert.equal(info.nonRetryable, true);
    const started = eventsOfType(history, 'EVENT_TYPE_ACTIVITY_TASK_STARTED');
    assert.equal((started[0]!.activityTaskStartedEventAttributes as { attempt: number }).attempt, 1);

    assert.equal((await handle.describe()).typedSearchAttributes.get(ReleaseStage), 'failed');
    const status = await handle.query(releaseStatusQuery);
    assert.equal(status.outcome.state, 'failed');
    assert.equal(status.stages[0]!.state.status, 'failed');
    assert.equal(status.stages[1]!.state.status, 'pending');
  });

  it('fails at sign with a clear error when the key does not open with the passphrase', async () => {
    const otherKey = await generateKeyFiles(join(env.dir, 'other-keys'), 'other', 'a different passphrase');
    const request = env.request({ source: { kind: 'onnx', path: SAMPLE }, signingKeyPath: otherKey.privateKeyPath });
    const handle = await env.start(request);
    const failure = await handle.result().then(
      () => assert.fail('signing must fail'),
      (err: unknown) => err,
    );
    assert.ok(failure instanceof WorkflowFailedError && failure.cause instanceof ApplicationFailure);
    assert.match(failure.cause.message, /failed at sign: cannot decrypt the signing key .*other\.key\.pem: wrong passphrase/);
    const status = await handle.query(releaseStatusQuery);
    assert.deepEqual(status.outcome.state === 'failed' && status.outcome.error.type, 'WrongPassphraseError');
    assert.deepEqual(status.stages.map((s) => s.state.status), ['succeeded', 'succeeded', 'failed', 'pending', 'pending', 'pending']);
  });

  it('releases a directory holding one model and its side files', async () => {
    const dir = join(env.dir, 'model-dir');
    execFileSync('mkdir', ['-p', join(dir, 'config')]);
    await writeFile(join(dir, 'model.onnx'), await readFile(SAMPLE));
    await writeFile(join(dir, 'config', 'labels.json'), JSON.stringify(['setosa', 'versicolor', 'virginica']));
    await writeFile(join(dir, 'README.md'), '# sample\n');
    const result = await env.release(env.request({ source: { kind: 'onnx', path: dir } }));
    assert.deepEqual(result.files.map((f) => f.path), ['README.md', 'config/labels.json', 'model.onnx']);
    const report = await verifyBundle(await env.bundleDirOf(result), await loadPublicKey(env.key.publicKeyPath));
    assert.equal(report.ok, true);
  });

  it('refuses a symlink in a model folder unless allowed; allowed, the bundle holds a regular copy', async () => {
    const dir = join(env.dir, 'linked-model');
    await mkdir(join(dir, 'configs'), { recursive: true });
    await writeFile(join(dir, 'model.onnx'), await readFile(SAMPLE));
    await writeFile(join(dir, 'configs', 'v3.json'), '{"labels":3}');
    await symlink('configs/v3.json', join(dir, 'config.json'));
    const refused = await env.start(env.request({ source: { kind: 'onnx', path: dir } }));
    await assert.rejects(refused.result(), causeMatches(/failed at export: .*config\.json is a symbolic link/));

    const result = await env.release(env.request({ source: { kind: 'onnx', path: dir, allowSymlinks: true } }));
    assert.deepEqual(result.files.map((f) => f.path), ['config.json', 'configs/v3.json', 'model.onnx']);
    assert.ok((await lstat(join(await env.bundleDirOf(result), 'model', 'config.json'))).isFile(), 'the bundle holds a regular file, not a link');

    const escaping = join(env.dir, 'escaping-model');
    await mkdir(escaping);
    await writeFile(join(escaping, 'model.onnx'), await readFile(SAMPLE));
    await writeFile(join(env.dir, 'secret.txt'), 'not part of any model');
    await symlink('../secret.txt', join(escaping, 'labels.txt'));
    const handle = await env.start(env.request({ source: { kind: 'onnx', path: escaping, allowSymlinks: true } }));
    await assert.rejects(handle.result(), causeMatches(/failed at export: .*labels\.txt is a symbolic link that leaves the model root/));
  });

  it('runs the sklearn exporter (skl2onnx) to turn a trained scikit-learn model into ONNX', async () => {
    const artifact = join(env.dir, 'classifier.joblib');
    execFileSync(PYTHON, [join(PROJECT_ROOT, 'test', 'fixtures', 'train_sklearn.py'), '--out', artifact]);
    // skl2onnx writes ai.onnx.ml operators (the sandbox runs them: it is onnxruntime).
    const request = env.request({ name: 'sklearn-classifier', source: { kind: 'exporter', exporter: 'sklearn', input: artifact } });
    const result = await env.release(request);
    assert.equal(result.smoke?.result, 'PASSED');
    const bundleDir = await env.bundleDirOf(result);
    const manifest = parseManifest(await readFile(join(bundleDir, 'model.yaml'), 'utf8'));
    assert.equal(manifest.modelFile, 'model.onnx');
    assert.deepEqual(manifest.signature.inputs.map((i) => [i.name, i.type, i.shape[1]]), [['features', 'float32', 5]]);
    assert.ok(manifest.framework.opsets.some((o) => o.domain === 'ai.onnx.ml'));
    assert.ok(manifest.source.uri.endsWith('classifier.joblib'));
    assert.equal((await verifyBundle(bundleDir, await loadPublicKey(env.key.publicKeyPath))).ok, true);
  });

  it('fails at export with the exporter\'s own message when the artifact is not a model', async () => {
    const artifact = join(env.dir, 'garbage.joblib');
    await writeFile(artifact, 'not a pickle');
    const handle = await env.start(env.request({ source: { kind: 'exporter', exporter: 'sklearn', input: artifact } }));
    const failure = await handle.result().then(
      () => assert.fail('must fail'),
      (err: unknown) => err,
    );
    assert.ok(failure instanceof WorkflowFailedError && failure.cause instanceof ApplicationFailure);
    assert.match(failure.cause.message, /failed at export: exporter sklearn exited with status 2: sklearn_to_onnx: .*garbage\.joblib/);
  });

  it('stops an exporter that outlives its timeout and fails export without retrying', async () => {
    const handle = await env.start(env.request({ source: { kind: 'exporter', exporter: 'hanging', input: SAMPLE, timeoutSeconds: 2 } }));
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
      assert.match(err.cause.message, /failed at export: exporter hanging ran longer than 2s and was stopped/);
      return true;
    });
    const started = eventsOfType(await historyJson(handle), 'EVENT_TYPE_ACTIVITY_TASK_STARTED');
    assert.deepEqual(started.map((e) => (e.activityTaskStartedEventAttributes as { attempt: number }).attempt), [1]);
  });

  it('refuses an exporter the worker does not know', async () => {
    const handle = await env.start(env.request({ source: { kind: 'exporter', exporter: 'rm-rf', input: SAMPLE } }));
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
      assert.match(err.cause.message, /unknown exporter "rm-rf"; this worker has: sklearn, hanging/);
      return true;
    });
  });
});
