// BatchRolloutWorkflow end to end: a real dev server and worker, a real serving runtime, real
// ONNX models, keys and bundles. Most entries are canary: false or first versions (straight to
// stable: a real deploy); the one bad model goes through a real canary and is rolled back.
import { pino } from 'pino';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { startServingRuntime, type ServingRuntime } from '../src/serving/serve.js';
import { ServingAdminClient } from '../src/serving-client/admin-client.js';
import { generateLoad } from '../src/load/load-generator.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { approveUpdate, BATCH_WORKFLOW_TYPE, batchStatusQuery, haltBatchUpdate, releaseStatusQuery } from '../src/workflow-definitions.js';
import { BatchId, BatchStage } from '../src/search-attributes.js';
import { batchStartOptions } from '../src/batch/start-metadata.js';
import { parseRollout, readRolloutFile } from '../src/batch/rollout-file.js';
import { batchIdFromWorkflowId } from '../src/batch/ids.js';
import { haltReason } from '../src/batch/ledger.js';
import type { BatchStatus, Rollout } from '../src/batch/types.js';
import { releaseIdFor } from '../src/release/ids.js';
import { startReleaseEnv, TEST_PASSPHRASE, type ReleaseEnv } from './helpers/release-env.js';
import { writePerturbedModel } from './helpers/serving-fixture.js';
import { historyJson, historyStrings } from './helpers/history.js';
import { RolloutFileError } from '../src/errors/index.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const SIGNATURE = [{ name: 'features', type: 'float32', shape: ['batch', 4] }] as const;
const FAST_POLICY = { minSamplesPerSlot: 30, minShadowComparisons: 20 };

describe('batch rollouts on a real worker and serving runtime', () => {
  let env: ReleaseEnv;
  let serving: ServingRuntime;
  let admin: ServingAdminClient;
  let dir: string;
  const secret = randomBytes(24).toString('hex');
  const tag = randomBytes(3).toString('hex');
  /** The model that gets a bad second version. */
  const canaryModel = `bcan-${tag}`;
  let v1Bundle = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelship-batch-'));
    await mkdir(join(dir, 'trusted'));
    serving = await startServingRuntime({ host: '127.0.0.1', port: 0, stateDir: join(dir, 'serving'), trustedKeysDir: join(dir, 'trusted'), adminSecret: secret, logger: pino({ level: 'silent' }) });
    env = await startReleaseEnv({ serving: { url: serving.url, secret } });
    await copyFile(env.key.publicKeyPath, join(dir, 'trusted', basename(env.key.publicKeyPath)));
    admin = new ServingAdminClient({ baseUrl: serving.url, secret });
    await writePerturbedModel(SAMPLE, join(dir, 'divergent.onnx'), 'b2', [5, -5, 0]); // predictions pushed towards class 0
    await writeFile(join(dir, 'corrupt.onnx'), (await readFile(SAMPLE)).subarray(0, 800));
    for (let i = 0; i < 24; i++) await copyFile(SAMPLE, join(dir, `model-${i}.onnx`));
    // The bad model's first version is stable already, so its second version goes through a canary.
    const v1 = await env.release(env.request({ name: canaryModel, version: '1.0.0', source: { kind: 'onnx', path: SAMPLE }, canary: { model: canaryModel } }));
    v1Bundle = v1.reference!;
  });
  after(async () => {
    await env?.stop();
    await serving?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A rollout file written to disk and read back as the CLI does. */
  async function rollout(name: string, doc: Record<string, unknown>): Promise<Rollout> {
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, JSON.stringify({ name, signingKeyPath: env.key.privateKeyPath, ...doc }, null, 2));
    return readRolloutFile(file);
  }
  const start = (r: Rollout, batchId: string) => env.client.workflow.start(BATCH_WORKFLOW_TYPE, { taskQueue: env.taskQueue, ...batchStartOptions(r, batchId) });
  const result = async (handle: WorkflowHandle) => (await handle.result()) as BatchStatus;

  /** ReleaseWorkflows tagged with this batch id (visibility is eventually consistent: poll until it settles on `expected`). */
  async function childrenOf(batchId: string, expected: number): Promise<string[]> {
    let ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      ids = [];
      for await (const e of env.client.workflow.list({ query: `WorkflowType="ReleaseWorkflow" AND BatchId="${batchId}"` })) ids.push(e.workflowId);
      if (ids.length === expected) {
        await sleep(300); // and it stays there
        const again: string[] = [];
        for await (const e of env.client.workflow.list({ query: `WorkflowType="ReleaseWorkflow" AND BatchId="${batchId}"` })) again.push(e.workflowId);
        if (again.length === expected) return again.sort();
      }
      await sleep(200);
    }
    return ids.sort();
  }

  async function underLoad<T>(work: Promise<T>): Promise<T> {
    const stop = new AbortController();
    const load = generateLoad({ baseUrl: serving.url, model: canaryModel, inputs: SIGNATURE, ratePerSecond: 150, durationSeconds: 300, signal: stop.signal, keys: 500 });
    try {
      return await work;
    } finally {
      stop.abort();
      await load;
    }
  }

  const good = (i: number, extra: Record<string, unknown> = {}) => ({ name: `bgood-${tag}-${String(i).padStart(2, '0')}`, version: '1.0.0', path: `model-${i}.onnx`, ...extra });
  let big: Rollout;
  let bigResult: BatchStatus;
  const bigId = `big-${tag}`;

  it('releases 20 good models in waves and rolls back the one bad canary; the summary counts them', async () => {
    const models: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 20; i++) models.push(good(i, i % 5 === 0 ? { canary: { model: `bgood-${tag}-${String(i).padStart(2, '0')}` } } : {}));
    // The bad second version sits in wave 2, among good ones.
    models.splice(7, 0, { name: canaryModel, version: '2.0.0', path: 'divergent.onnx', canary: { model: canaryModel, policy: FAST_POLICY, steps: [{ setWeight: 20 }, { bakeSeconds: 3 }] } });
    big = await rollout('big', { waveSize: 5, concurrency: 3, pauseBetweenWavesSeconds: 1, halt: { maxFailures: 2 }, defaults: { canary: false, smoke: { seed: 3 } }, models });
    const handle = await start(big, bigId);
    bigResult = await underLoad(result(handle));

    assert.equal(bigResult.state, 'completed');
    assert.deepEqual(bigResult.totals, { entries: 21, released: 16, promoted: 4, rolledBack: 1, failed: 0, skipped: 0, existing: 0, running: 0, pending: 0 });
    const bad = bigResult.entries.find((e) => e.name === canaryModel)!;
    assert.equal(bad.outcome, 'rolled_back');
    assert.equal(bad.releaseId, releaseIdFor(canaryModel, '2.0.0'));
    assert.equal(bad.wave, 2);
    assert.match(bad.reason ?? '', /failed at canary: canary of .* rolled back: analysis failed at 20% canary traffic/);
    assert.deepEqual(bigResult.entries.filter((e) => e.outcome === 'promoted').map((e) => e.name).sort(), [0, 5, 10, 15].map((i) => `bgood-${tag}-${String(i).padStart(2, '0')}`));

    // Stable untouched for the bad model; the good first versions are served.
    const status = await admin.status(canaryModel);
    assert.equal(status.slots.stable?.reference, v1Bundle);
    assert.equal(status.slots.canary, null);
    assert.equal((await admin.status(`bgood-${tag}-05`)).slots.stable?.version, '1.0.0');

    // One child per entry, each tagged with the batch; the batch's own attributes and UI metadata.
    assert.deepEqual(await childrenOf(bigId, 21), bigResult.entries.map((e) => e.releaseId).sort());
    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(BatchId), bigId);
    assert.equal(description.typedSearchAttributes.get(BatchStage), 'completed');
    assert.equal(await description.staticSummary(), `batch ${bigId} · 21 models in 5 waves of 5 · big.yaml`);
    const child = await env.client.workflow.getHandle(bad.releaseId).describe();
    assert.equal(await child.staticSummary(), `${canaryModel}@2.0.0 · ONNX divergent.onnx · batch ${bigId}`);
    assert.equal(child.typedSearchAttributes.get(BatchId), bigId);
    const { currentDetails } = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    assert.match(currentDetails, /state \*\*completed\*\* · wave \*\*5\*\* of 5/);
    assert.match(currentDetails, /\| 16 \| 4 \| 1 \| 0 \| 0 \| 0 \| 0 \| 0 \|/);
    // The summary query answers the same as the result.
    assert.deepEqual((await handle.query(batchStatusQuery)).totals, bigResult.totals);
    // The pauses between waves are durable timers with a summary.
    const timers = ((await handle.fetchHistory()).events ?? []).filter((e) => e.timerStartedEventAttributes).map((e) => decode(e.userMetadata?.summary));
    assert.deepEqual(timers, ['pause 1s before wave 2 of 5', 'pause 1s before wave 3 of 5', 'pause 1s before wave 4 of 5', 'pause 1s before wave 5 of 5']);
  });

  it('re-running the same rollout releases nothing twice: every version is skipped, no release id runs again', async () => {
    assert.ok(bigResult, 'needs the first batch');
    const runIds = new Map<string, string>();
    for (const e of bigResult.entries) runIds.set(e.releaseId, (await env.client.workflow.getHandle(e.releaseId).describe()).runId);
    const rerunId = `big-rerun-${tag}`;
    const rerun = await result(await start(big, rerunId));
    assert.deepEqual(rerun.totals, { entries: 21, released: 0, promoted: 0, rolledBack: 0, failed: 0, skipped: 21, existing: 21, running: 0, pending: 0 });
    const bad = rerun.entries.find((e) => e.name === canaryModel)!;
    assert.match(bad.reason ?? '', new RegExp(`an earlier release ended rolled_back \\(batch ${bigId}\\).*set rerunFailed: true`));
    assert.match(rerun.entries[0]!.reason ?? '', new RegExp(`already released \\(promoted, batch ${bigId}\\): a version is released once`));
    assert.match(rerun.entries[1]!.reason ?? '', /already released \(released, /);
    for (const e of bigResult.entries) {
      const d = await env.client.workflow.getHandle(e.releaseId).describe();
      assert.equal(d.runId, runIds.get(e.releaseId), `${e.releaseId} ran once`);
      assert.equal(d.typedSearchAttributes.get(BatchId), bigId, `${e.releaseId} still belongs to the first batch`);
    }
    assert.equal((await env.client.workflow.count(`WorkflowType="ReleaseWorkflow" AND BatchId="${rerunId}"`)).count, 0);
  });

  it('a release still running from another batch is waited for (adopted), not started again', async () => {
    // bgood-…-00 is stable at 1.0.0, so 1.1.0 goes through a canary that pauses for approval.
    const name = `bgood-${tag}-00`;
    const r = await rollout('adopt', { defaults: { canary: { model: name, steps: [{ setWeight: 10 }, { pause: { timeoutSeconds: 120 } }] } }, models: [{ name, version: '1.1.0', path: 'model-0.onnx' }] });
    const first = await start(r, `adopt-a-${tag}`);
    const releaseId = releaseIdFor(name, '1.1.0');
    const release = env.client.workflow.getHandle(releaseId);
    await until('the canary to pause', () => release.query(releaseStatusQuery).then((s) => s.canary?.phase), (phase) => phase === 'paused');
    const second = await start(r, `adopt-b-${tag}`);
    await until('the second batch to adopt it', () => second.query(batchStatusQuery).then((s) => s.entries[0]), (e) => e?.outcome === 'running' && e.existing === true);
    await release.executeUpdate(approveUpdate);
    const [a, b] = await Promise.all([result(first), result(second)]);
    assert.deepEqual([a.entries[0]!.outcome, a.entries[0]!.existing], ['promoted', undefined]);
    assert.equal(b.entries[0]!.outcome, 'promoted');
    assert.equal(b.entries[0]!.existing, true);
    assert.match(b.entries[0]!.reason ?? '', new RegExp(`started by batch adopt-a-${tag}; this batch waited for it`));
    assert.deepEqual(b.totals, { entries: 1, released: 0, promoted: 1, rolledBack: 0, failed: 0, skipped: 0, existing: 1, running: 0, pending: 0 });
    assert.equal((await env.client.workflow.count(`WorkflowId="${releaseId}"`)).count, 1, 'one run of the release');
  });

  it('passing the halt threshold stops later waves and aborts the running canary (onHalt: abort)', async () => {
    const models = [
      // A canary that would bake for 10 minutes: the halt aborts it, and it rolls back.
      { name: canaryModel, version: '3.0.0', path: 'model-20.onnx', canary: { model: canaryModel, steps: [{ setWeight: 10 }, { bakeSeconds: 600 }] } },
      { name: `bcorrupt-${tag}`, version: '1.0.0', path: 'corrupt.onnx' },
      ...[21, 22, 23].map((i) => good(i)),
      good(19, { version: '2.0.0' }),
    ];
    const r = await rollout('halt', { waveSize: 2, concurrency: 2, halt: { maxFailures: 0, onHalt: 'abort' }, defaults: { canary: false }, models });
    const batchId = `halt-${tag}`;
    const status = await result(await start(r, batchId));
    assert.equal(status.state, 'halted');
    assert.match(status.halted?.reason ?? '', /1 failed or rolled back, more than the 0 allowed \(halt\.maxFailures\)/);
    assert.equal(status.halted?.mode, 'abort');
    assert.deepEqual(status.entries.map((e) => e.outcome), ['rolled_back', 'failed', 'skipped', 'skipped', 'skipped', 'skipped']);
    assert.match(status.entries[0]!.reason ?? '', new RegExp(`rolled back: batch ${batchId} halted: 1 failed`));
    assert.match(status.entries[1]!.reason ?? '', /failed at export/);
    for (const e of status.entries.slice(2)) assert.match(e.reason ?? '', /batch halted before it started/);
    assert.deepEqual(status.totals, { entries: 6, released: 0, promoted: 0, rolledBack: 1, failed: 1, skipped: 4, existing: 0, running: 0, pending: 0 });
    // Fewer children than entries: only the first wave ever started.
    assert.deepEqual(await childrenOf(batchId, 2), [releaseIdFor(canaryModel, '3.0.0'), releaseIdFor(`bcorrupt-${tag}`, '1.0.0')].sort());
    assert.equal((await admin.status(canaryModel)).slots.canary, null, 'the canary slot is cleared');
    assert.equal((await env.client.workflow.getHandle(`batch-${batchId}`).describe()).typedSearchAttributes.get(BatchStage), 'halted');
  });

  it('a fraction threshold with onHalt let-finish lets the running release finish; the halt update stops a batch by hand', async () => {
    const models = [good(21, { version: '2.0.0' }), { name: `bcorrupt-${tag}`, version: '2.0.0', path: 'corrupt.onnx' }, good(22, { version: '2.0.0' }), good(23, { version: '2.0.0' })];
    const r = await rollout('fraction', { waveSize: 2, concurrency: 2, halt: { maxFailureFraction: 0.2, onHalt: 'let-finish' }, defaults: { canary: false }, models });
    const status = await result(await start(r, `fraction-${tag}`));
    assert.deepEqual(status.entries.map((e) => e.outcome), ['released', 'failed', 'skipped', 'skipped']);
    assert.match(status.halted?.reason ?? '', /1 of 4 failed or rolled back, more than 20% \(halt\.maxFailureFraction\)/);
    assert.equal((await childrenOf(`fraction-${tag}`, 2)).length, 2);

    // By hand: a long pause between waves, halted during it.
    const paused = await rollout('manual', { waveSize: 1, pauseBetweenWavesSeconds: 600, defaults: { canary: false }, models: [good(21, { version: '3.0.0' }), good(22, { version: '3.0.0' })] });
    const handle = await start(paused, `manual-${tag}`);
    await until('the pause', () => handle.query(batchStatusQuery).then((s) => s.state), (s) => s === 'pausing');
    assert.match(await handle.executeUpdate(haltBatchUpdate, { args: [{ reason: 'SRE: bad day' }] }), /halting batch manual-/);
    const halted = await result(handle);
    assert.deepEqual(halted.entries.map((e) => e.outcome), ['released', 'skipped']);
    assert.equal(halted.halted?.reason, 'SRE: bad day');
    await assert.rejects(handle.executeUpdate(haltBatchUpdate, { args: [{}] }), 'a finished batch cannot be halted again');
  });

  it('a cancelled batch winds down like a halt and ends cancelled; the summary stays queryable', async () => {
    const r = await rollout('cancel', { waveSize: 1, pauseBetweenWavesSeconds: 600, defaults: { canary: false }, models: [good(23, { version: '4.0.0' }), good(22, { version: '4.0.0' })] });
    const handle = await start(r, `cancel-${tag}`);
    await until('the pause', () => handle.query(batchStatusQuery).then((s) => s.state), (s) => s === 'pausing');
    await handle.cancel();
    const err = await handle.result().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));
    const status = await handle.query(batchStatusQuery);
    assert.equal(status.state, 'cancelled');
    assert.deepEqual(status.entries.map((e) => e.outcome), ['released', 'skipped']);
  });

  it('continues as new every N waves and keeps the whole summary across the run chain', async () => {
    const models = [good(21, { version: '5.0.0' }), { name: `bcorrupt-${tag}`, version: '5.0.0', path: 'corrupt.onnx' }, good(22, { version: '5.0.0' }), good(23, { version: '5.0.0' }), good(20, { version: '5.0.0' })];
    const r = await rollout('chain', { waveSize: 1, continueAsNewEveryWaves: 2, pauseBetweenWavesSeconds: 1, defaults: { canary: false }, models });
    const batchId = `chain-${tag}`;
    const handle = await start(r, batchId);
    const status = await result(handle);
    assert.equal(status.run, 3, 'waves 1-2, 3-4 and 5 ran in three runs');
    assert.equal(status.state, 'completed');
    assert.deepEqual(status.totals, { entries: 5, released: 4, promoted: 0, rolledBack: 0, failed: 1, skipped: 0, existing: 0, running: 0, pending: 0 });
    assert.match(status.entries[1]!.reason ?? '', /failed at export/, 'the first run\'s failure and reason are carried');
    assert.deepEqual((await env.client.workflow.getHandle(handle.workflowId).query(batchStatusQuery)).totals, status.totals);

    // The run chain: two continued-as-new runs, then the completed one.
    let runs: Array<{ runId: string; status: string }> = [];
    for (let i = 0; i < 100 && runs.length < 3; i++) {
      runs = [];
      for await (const e of env.client.workflow.list({ query: `WorkflowId="batch-${batchId}"` })) runs.push({ runId: e.runId, status: e.status.name });
      if (runs.length < 3) await sleep(200);
    }
    assert.deepEqual(runs.map((x) => x.status).sort(), ['COMPLETED', 'CONTINUED_AS_NEW', 'CONTINUED_AS_NEW']);
    const firstRun = ((await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory()).events ?? []);
    assert.ok(firstRun.at(-1)?.workflowExecutionContinuedAsNewEventAttributes, 'the first run ends by continuing as new');
    assert.equal(firstRun.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length, 2, 'two children per run');
    assert.equal((await childrenOf(batchId, 5)).length, 5);
    // The input carries paths, never key material, the passphrase or model bytes (payloads decoded).
    const history = await historyJson(env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId));
    const text = historyStrings(history).join('\n');
    assert.ok(text.includes(env.key.privateKeyPath), 'the key is named by its path');
    const pemBody = (await readFile(env.key.privateKeyPath, 'utf8')).split('\n').filter((l) => l && !l.startsWith('-----'));
    for (const secret of [TEST_PASSPHRASE, ...pemBody]) assert.ok(!text.includes(secret), `batch history leaks ${secret.slice(0, 12)}...`);
    assert.ok(!text.includes((await readFile(SAMPLE)).subarray(200, 264).toString('base64')), 'no model bytes');
  });
});

describe('rollout files are validated on the client, every problem named by entry and field', () => {
  const file = '/rollouts/nightly.yaml';
  const parse = (doc: unknown) => parseRollout(typeof doc === 'string' ? doc : JSON.stringify(doc), { file, defaultSigningKeyPath: '/keys/release.key.pem' });

  it('reads YAML with defaults, relative paths from the file\'s folder and per-entry overrides', () => {
    const r = parse(`
name: nightly
waveSize: 3
pauseBetweenWavesSeconds: 30
halt: { maxFailures: 1, onHalt: let-finish }
defaults:
  canary: false
  smoke: { seed: 5, tolerance: { absolute: 0.001 } }
models:
  - { name: fraud, version: 1.2.0, path: models/fraud.onnx }
  - name: churn
    version: 2.0.0
    path: /abs/churn
    canary: { steps: [{ setWeight: 10 }, { bakeSeconds: 60 }] }
    smoke: { seed: 9 }
`);
    assert.equal(r.name, 'nightly');
    assert.equal(r.signingKeyPath, '/keys/release.key.pem');
    assert.deepEqual([r.waveSize, r.concurrency, r.pauseBetweenWavesSeconds, r.continueAsNewEveryWaves, r.rerunFailed], [3, 3, 30, 20, false]);
    assert.deepEqual(r.halt, { maxFailures: 1, onHalt: 'let-finish' });
    assert.deepEqual(r.entries[0], { name: 'fraud', version: '1.2.0', source: { kind: 'onnx', path: '/rollouts/models/fraud.onnx' }, canary: false, smoke: { seed: 5, tolerance: { absolute: 0.001 } } });
    assert.deepEqual(r.entries[1]!.canary, { steps: [{ setWeight: 10 }, { bakeSeconds: 60 }] });
    assert.deepEqual(r.entries[1]!.smoke, { seed: 9, tolerance: { absolute: 0.001 } });
    assert.equal(r.entries[1]!.source.kind === 'onnx' && r.entries[1]!.source.path, '/abs/churn');
  });

  it('carries the smoke inputs a user gives (shapes, dims, integer ranges, per-output tolerances) and names a bad one', () => {
    const r = parse(`
models:
  - name: det
    version: 1.0.0
    path: det.onnx
    smoke: { shapes: { x: [1, 3, 640, 640] }, dims: { batch: 1 }, intRange: { min: 0, max: 255 }, intRanges: { sr: { min: 16000, max: 16000 } }, outputTolerances: { boxes: { absolute: 0.001 } } }
`);
    assert.deepEqual(r.entries[0]!.smoke, {
      shapes: { x: [1, 3, 640, 640] },
      dims: { batch: 1 },
      intRange: { min: 0, max: 255 },
      intRanges: { sr: { min: 16000, max: 16000 } },
      outputTolerances: { boxes: { absolute: 0.001 } },
    });
    assert.throws(
      () => parse({ models: [{ name: 'det', version: '1.0.0', path: 'd.onnx', smoke: { shapes: { x: [1, 'h'] }, intRanges: { sr: { min: 9, max: 1 } } } }] }),
      (err: Error) => {
        assert.match(err.message, /models\[0\] \(det@1\.0\.0\): smoke\.shapes\.x: must be a list of whole numbers >= 0, got \[1,"h"\]/);
        assert.match(err.message, /models\[0\] \(det@1\.0\.0\): smoke\.intRanges\.sr: min 9 is above max 1/);
        return true;
      },
    );
  });

  it('reports every problem at once, naming the entry and the field', () => {
    let message = '';
    try {
      parse({
        waveSize: 0,
        halt: { maxFailureFraction: 1.5, onHalt: 'panic' },
        colour: 'blue',
        models: [
          { name: 'ok', version: '1.0.0', path: 'a.onnx' },
          { name: 'fraud', version: '../1', path: 'b.onnx' },
          { name: 'churn', version: '2.0.0', canary: { steps: [{ setWeight: 150 }], polcy: {} } },
          { name: 'ok', version: '1.0.0', path: 'c.onnx', smoke: { seed: -1 } },
        ],
      });
    } catch (err) {
      assert.ok(err instanceof RolloutFileError);
      message = err.message;
    }
    for (const expected of [
      `${file}: `,
      'waveSize: must be a whole number >= 1, got 0',
      'halt.maxFailureFraction: must be a number in [0, 1)',
      'halt.onHalt: must be abort or let-finish, got "panic"',
      'top level: unknown field "colour"',
      'models[1] (fraud@../1): version: invalid model version "../1"',
      'models[2] (churn@2.0.0): path: is required',
      'models[2] (churn@2.0.0): canary: unknown field "polcy"',
      'models[2] (churn@2.0.0): canary: step 0: setWeight must be an integer 0..100',
      'models[3] (ok@1.0.0): smoke.seed: must be a whole number >= 0',
    ]) assert.ok(message.includes(expected), `expected ${JSON.stringify(expected)} in:\n${message}`);
  });

  it('refuses a duplicate version, an empty list, bad YAML and a missing file', async () => {
    assert.throws(() => parse({ models: [{ name: 'a', version: '1', path: 'x' }, { name: 'a', version: '1', path: 'y' }] }), /models\[1\] \(a@1\): the same version as models\[0\]/);
    assert.throws(() => parse({ models: [] }), /models: must be a non-empty list/);
    assert.throws(() => parse('models: [ {'), /is not valid YAML or JSON/);
    await assert.rejects(readRolloutFile('/no/such/rollout.yaml'), /cannot read the rollout file \/no\/such\/rollout\.yaml: no such file/);
  });

  it('the example rollout in models/demo parses', async () => {
    const r = await readRolloutFile(join(PROJECT_ROOT, 'models', 'demo', 'rollout.yaml'), { defaultSigningKeyPath: '/keys/release.key.pem' });
    assert.deepEqual(r.entries.map((e) => `${e.name}@${e.version}`), ['fraud-eu@1.0.0', 'fraud-us@1.0.0', 'churn@2.1.0', 'ranker@0.9.0']);
    assert.equal(r.entries[0]!.source.kind === 'onnx' && r.entries[0]!.source.path, SAMPLE);
    assert.deepEqual(r.halt, { maxFailures: 1, maxFailureFraction: 0.25, onHalt: 'abort' });
  });

  it('derives one batch id per scheduled run from the workflow id', () => {
    assert.equal(batchIdFromWorkflowId('batch-nightly-7'), 'nightly-7');
    assert.equal(batchIdFromWorkflowId('batch-nightly-2025-06-01T03:00:00Z'), 'nightly-2025-06-01T03-00-00Z');
  });

  it('halts past the threshold, not at it', () => {
    assert.equal(haltReason({ maxFailures: 2, onHalt: 'abort' }, 2, 10), undefined);
    assert.match(haltReason({ maxFailures: 2, onHalt: 'abort' }, 3, 10) ?? '', /3 failed or rolled back, more than the 2 allowed/);
    assert.equal(haltReason({ maxFailureFraction: 0.1, onHalt: 'abort' }, 2, 20), undefined);
    assert.match(haltReason({ maxFailureFraction: 0.1, onHalt: 'abort' }, 3, 20) ?? '', /3 of 20 .* more than 10%/);
    assert.equal(haltReason({ onHalt: 'abort' }, 100, 100), undefined, 'no threshold: never');
  });
});

const decode = (payload: Payload | null | undefined): unknown => (payload ? defaultPayloadConverter.fromPayload(payload) : undefined);

async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  let value: T | undefined;
  for (let i = 0; i < 600; i++) {
    value = await read().catch(() => undefined as T);
    if (value !== undefined && ok(value)) return value;
    await sleep(100);
  }
  assert.fail(`${what} never happened (last: ${JSON.stringify(value)})`);
}
