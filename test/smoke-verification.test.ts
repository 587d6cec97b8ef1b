// The smoke stage verifies the bundle before it runs anything: against the worker's trust folder
// (keyring + policy) or else the release's own keys; a bundle that fails is refused with every
// failing check and no inference; what verified is recorded in history and in the signed result.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { smokeTest, type SmokeInput } from '../src/activities/smoke-test.js';
import { withFailureMapping } from '../src/activities/failures.js';
import type { ActivityDeps } from '../src/activities/deps.js';
import { builtInExporters } from '../src/exporter/installed-exporters.js';
import { generateKeyFiles, loadPublicKey, type PublicKey } from '../src/crypto/keys.js';
import { IN_TOTO_PAYLOAD_TYPE, verifyEnvelope } from '../src/crypto/dsse.js';
import type { SmokeResult, SmokeVerification } from '../src/release/types.js';
import { releaseStatusQuery } from '../src/workflow-definitions.js';
import { makeSignedBundle } from './helpers/bundle-fixture.js';
import { makeKeys, SAMPLE_MODEL, TempDirs, type TestKeys } from './helpers/fixtures.js';
import { startReleaseEnv, TEST_PASSPHRASE, type ReleaseEnv } from './helpers/release-env.js';
import { historyJson, type HistoryEvent } from './helpers/history.js';

const temp = new TempDirs();
after(() => temp.cleanup());

interface SmokeStatement {
  predicate: {
    result: string;
    passedTests: string[];
    failedTests: string[];
    configuration: Array<{ name: string; annotations?: Record<string, unknown> }>;
  };
}

async function readSmokeStatement(bundleDir: string, key: PublicKey): Promise<SmokeStatement> {
  const envelope = JSON.parse(await readFile(join(bundleDir, 'attestations', 'smoke.dsse.json'), 'utf8')) as unknown;
  return JSON.parse(verifyEnvelope(envelope, key, IN_TOTO_PAYLOAD_TYPE).toString('utf8')) as SmokeStatement;
}

function verificationIn(statement: SmokeStatement): Record<string, unknown> | undefined {
  return statement.predicate.configuration.find((c) => c.name === 'bundle-verification')?.annotations;
}

/** A trust folder: keyring.json listing the keys, and a policy with one rule for `model`. */
async function writeTrustDir(dir: string, keys: ReadonlyArray<{ kid: string; publicKeyPath: string }>, model: string, trustedKids: readonly string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const keyring = { version: 1, keys: keys.map((k) => ({ kid: k.kid, publicKeyPath: k.publicKeyPath, notBefore: '2020-01-01T00:00:00.000Z' })) };
  await writeFile(join(dir, 'keyring.json'), JSON.stringify(keyring, null, 2));
  await writeFile(join(dir, 'trust-policy.yaml'), `version: 1\nrules:\n  - models: [${model}]\n    trustedKids: [${trustedKids.join(', ')}]\n    threshold: ${trustedKids.length}\n`);
}

/** The smoke stage on a bundle folder, failures mapped as the worker maps them (the activity itself takes a store reference). */
const smokeOnFolder = (deps: ActivityDeps) => withFailureMapping((input: SmokeInput) => smokeTest(deps, input));

describe('smoke verification of the bundle (activity)', () => {
  let keys: TestKeys;
  let dir: string;
  const deps = (extra: Partial<ActivityDeps> = {}): ActivityDeps => ({ bundlesRoot: dir, exporters: builtInExporters(), passphrase: async () => keys.passphrase, ...extra });
  before(async () => {
    dir = await temp.make('smoke-verify-');
    keys = await makeKeys(join(dir, 'keys'));
  });

  it("without a trust folder verifies against the release's own key, and records it", async () => {
    const bundle = await makeSignedBundle(join(dir, 'own-keys'), keys.signingKey);
    const result = (await new MockActivityEnvironment().run(smokeOnFolder(deps()), {
      bundleDir: bundle.bundleDir,
      signingKeyPath: keys.files.privateKeyPath,
    })) as SmokeResult;
    const v = result.verification!;
    assert.equal(v.mode, 'release-keys');
    assert.deepEqual(v.countedKids, [keys.files.kid]);
    assert.deepEqual(v.signatures, [{ kid: keys.files.kid, status: 'valid' }]);
    assert.deepEqual(v.checks, ['manifest', 'files', 'root-digest', 'signature', 'provenance']);
    assert.equal(v.rootDigest, bundle.manifest.digest.root);
    const statement = await readSmokeStatement(bundle.bundleDir, keys.publicKey);
    assert.equal(statement.predicate.result, 'PASSED');
    assert.deepEqual(verificationIn(statement), JSON.parse(JSON.stringify(v)));
  });

  it('refuses a model file changed after signing: BundleVerificationFailed names files, no inference, FAILED on record', async () => {
    const bundle = await makeSignedBundle(join(dir, 'tampered'), keys.signingKey);
    assert.equal((await readSmokeStatement(bundle.bundleDir, keys.publicKey)).predicate.result, 'PASSED', 'the fixture starts with a PASSED result');
    // Not ONNX any more: had inference run, it would fail as a corrupt model, not as a verification failure.
    await appendFile(join(bundle.paths.modelDir, bundle.modelFile), 'not protobuf');
    const failure = await new MockActivityEnvironment()
      .run(smokeOnFolder(deps()), { bundleDir: bundle.bundleDir, signingKeyPath: keys.files.privateKeyPath })
      .then(
        () => assert.fail('smoke must refuse a tampered bundle'),
        (err: unknown) => err,
      );
    assert.ok(failure instanceof ApplicationFailure, String(failure));
    assert.equal(failure.type, 'BundleVerificationFailed');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, new RegExp(`files: model/${bundle.modelFile}: size \\d+, model.yaml says \\d+`));
    assert.doesNotMatch(failure.message, /signature:|provenance:/, 'only the failing checks are named');

    const statement = await readSmokeStatement(bundle.bundleDir, keys.publicKey);
    assert.equal(statement.predicate.result, 'FAILED');
    assert.deepEqual(statement.predicate.passedTests, []);
    assert.match(statement.predicate.failedTests.join('\n'), /^bundle-verification: files: /);
    assert.equal(verificationIn(statement)?.mode, 'release-keys');
  });

  it('names every failing check: an edited model.yaml breaks the signature and the provenance', async () => {
    const bundle = await makeSignedBundle(join(dir, 'edited-manifest'), keys.signingKey);
    await writeFile(bundle.paths.manifest, bundle.manifestText.replace('version: 1.0.0', 'version: 1.0.1'));
    await assert.rejects(new MockActivityEnvironment().run(smokeOnFolder(deps()), { bundleDir: bundle.bundleDir, signingKeyPath: keys.files.privateKeyPath }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure && err.type === 'BundleVerificationFailed', String(err));
      assert.match(err.message, /signature: model\.jws: .*; provenance: .*different model\.yaml/);
      return true;
    });
    assert.equal((await readSmokeStatement(bundle.bundleDir, keys.publicKey)).predicate.result, 'FAILED');
  });

  it("under the worker's policy: a threshold the release's signatures do not meet fails with the figures", async () => {
    const other = await generateKeyFiles(join(dir, 'keys-other'), 'other', TEST_PASSPHRASE);
    const trusted = join(dir, 'trusted-2-of-2');
    await writeTrustDir(trusted, [keys.files, other], 'sample-mlp', [keys.files.kid, other.kid]);
    const bundle = await makeSignedBundle(join(dir, 'one-signature'), keys.signingKey);
    await assert.rejects(
      new MockActivityEnvironment().run(smokeOnFolder(deps({ trustedKeysDir: trusted })), { bundleDir: bundle.bundleDir, signingKeyPath: keys.files.privateKeyPath }),
      (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure && err.type === 'BundleVerificationFailed', String(err));
        assert.match(err.message, /\(trust-policy: .*trusted-2-of-2\).*signature: model\.jws: 1 of 2 required signatures by kids trusted for sample-mlp under rules\[0\] \(sample-mlp\)/);
        return true;
      },
    );
  });

  it('a trust folder without a policy is a worker configuration error, not a silent fallback', async () => {
    const broken = join(dir, 'trusted-no-policy');
    await mkdir(broken);
    await writeFile(join(broken, 'keyring.json'), JSON.stringify({ version: 1, keys: [] }));
    const bundle = await makeSignedBundle(join(dir, 'no-policy'), keys.signingKey);
    await assert.rejects(
      new MockActivityEnvironment().run(smokeOnFolder(deps({ trustedKeysDir: broken })), { bundleDir: bundle.bundleDir, signingKeyPath: keys.files.privateKeyPath }),
      (err: unknown) => err instanceof ApplicationFailure && err.type === 'TrustPolicyError' && /has keyring\.json but no trust-policy\.yaml/.test(err.message),
    );
  });
});

/** The result of the smoke activity as recorded in the history (ActivityTaskCompleted). */
async function smokeResultInHistory(handle: WorkflowHandle): Promise<SmokeResult> {
  const { events } = await historyJson(handle);
  const scheduled = events.find(
    (e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED' && (e.activityTaskScheduledEventAttributes as { activityType: { name: string } }).activityType.name === 'smokeTest',
  ) as HistoryEvent & { eventId: string };
  assert.ok(scheduled, 'smokeTest was scheduled');
  const completed = events.find(
    (e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED' && (e.activityTaskCompletedEventAttributes as { scheduledEventId: string }).scheduledEventId === scheduled.eventId,
  );
  assert.ok(completed, 'smokeTest completed');
  const data = (completed.activityTaskCompletedEventAttributes as { result: { payloads: Array<{ data: string }> } }).result.payloads[0]!.data;
  return JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as SmokeResult;
}

describe("smoke verification on a worker with a trust folder (dev server)", () => {
  let env: ReleaseEnv;
  let trusted: string;
  let releaseKey: PublicKey;
  before(async () => {
    const dir = await temp.make('smoke-trust-env-');
    trusted = join(dir, 'trusted');
    env = await startReleaseEnv({ trustedKeysDir: trusted });
    releaseKey = await loadPublicKey(env.key.publicKeyPath);
  });
  after(async () => {
    await env?.stop();
  });

  it('a release the policy trusts passes, with kid, root digest and policy figures in history', async () => {
    await writeTrustDir(trusted, [env.key], 'sample-mlp', [env.key.kid]);
    const handle = await env.start(env.request({ source: { kind: 'onnx', path: SAMPLE_MODEL } }));
    const result = (await handle.result()) as Awaited<ReturnType<ReleaseEnv['release']>>;

    const recorded = (await smokeResultInHistory(handle)).verification as SmokeVerification;
    assert.equal(recorded.mode, 'trust-policy');
    assert.equal(recorded.trustSource, trusted);
    assert.deepEqual(recorded.countedKids, [env.key.kid]);
    assert.deepEqual(recorded.signatures, [{ kid: env.key.kid, status: 'valid' }]);
    assert.equal(recorded.rule, 'rules[0] (sample-mlp)');
    assert.equal(recorded.threshold, 1);
    assert.equal(recorded.counted, 1);
    assert.equal(recorded.rootDigest, result.rootDigest);
    const hashed = (await handle.query(releaseStatusQuery)).stages.find((s) => s.name === 'hash')!.state;
    assert.ok(hashed.status === 'succeeded');
    assert.equal(recorded.manifestSha256, hashed.summary.manifestSha256);

    const smoke = (await handle.query(releaseStatusQuery)).stages.find((s) => s.name === 'smoke')!.state;
    assert.ok(smoke.status === 'succeeded', JSON.stringify(smoke));
    assert.equal(smoke.summary.verifiedBy, `trust-policy (${trusted})`);
    assert.equal(smoke.summary.verifiedKids, env.key.kid);
    assert.equal(smoke.summary.trustRule, 'rules[0] (sample-mlp)');
    assert.equal(smoke.summary.signaturesCounted, '1 of 1 required');
    assert.equal(smoke.summary.verifiedRootDigest, `sha256:${result.rootDigest}`);

    const statement = await readSmokeStatement(await env.bundleDirOf(result), releaseKey);
    assert.deepEqual(verificationIn(statement), JSON.parse(JSON.stringify(recorded)), 'the signed test result carries the same verification');
  });

  it("a worker whose policy does not trust the release's kid fails the release at smoke, saying so", async () => {
    const other = await generateKeyFiles(join(trusted, '..', 'other-keys'), 'other', TEST_PASSPHRASE);
    await writeTrustDir(trusted, [env.key, other], 'sample-mlp', [other.kid]);
    const handle = await env.start(env.request({ source: { kind: 'onnx', path: SAMPLE_MODEL } }));
    const err = await handle.result().then(
      () => assert.fail('the release must fail at smoke'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
    assert.match(err.cause.message, /failed at smoke: bundle .* failed verification \(trust-policy: .*\), so no inference ran: signature: model\.jws: 0 of 1 required/);
    assert.match(err.cause.message, new RegExp(`signature 0: untrusted-for-model: signature verifies, but kid ${env.key.kid} is not trusted for sample-mlp`));
    const { events } = await historyJson(handle);
    const failed = events.filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_FAILED');
    assert.equal(failed.length, 1, 'failed once, not retried');
    const info = (failed[0]!.activityTaskFailedEventAttributes as { failure: { applicationFailureInfo: { type: string; nonRetryable: boolean } } }).failure.applicationFailureInfo;
    assert.deepEqual(info, { ...info, type: 'BundleVerificationFailed', nonRetryable: true });
  });
});
