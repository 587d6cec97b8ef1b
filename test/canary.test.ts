// The canary stage end to end: a real dev server, a real serving runtime, real bundles and
// traffic from the load generator. Short bakes and a small minimum sample keep it quick.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync } from 'node:child_process';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { startServingRuntime, type ServingRuntime } from '../src/serving/serve.js';
import { ServingAdminClient } from '../src/serving/admin-client.js';
import { generateLoad } from '../src/load/load-generator.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { abortUpdate, approveUpdate, releaseStatusQuery } from '../src/workflows/definitions.js';
import { ReleaseStage } from '../src/search-attributes.js';
import type { CanaryPlan } from '../src/canary/plan.js';
import type { ReleaseResult } from '../src/release/types.js';
import { startReleaseEnv, type ReleaseEnv } from './helpers/release-env.js';
import { writePerturbedModel } from './helpers/serving-fixture.js';
import { Scrape } from './helpers/prometheus.js';
import { WorkerMetrics } from '../src/metrics/worker-metrics.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const SIGNATURE = [{ name: 'features', type: 'float32', shape: ['batch', 4] }] as const;
const FAST_POLICY = { minSamplesPerSlot: 30, minShadowComparisons: 20 };

describe('canary stage with a real serving runtime', () => {
  let env: ReleaseEnv;
  let serving: ServingRuntime;
  let admin: ServingAdminClient;
  let dir: string;
  let divergent: string;
  const secret = randomBytes(24).toString('hex');
  const model = `canary-${randomBytes(3).toString('hex')}`;
  const metrics = new WorkerMetrics({ defaultMetrics: false });
  const releasesCounted = async (outcome: string) => new Scrape(await metrics.render()).value('modelship_releases_total', { outcome });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelship-canary-'));
    await mkdir(join(dir, 'trusted'));
    serving = await startServingRuntime({ host: '127.0.0.1', port: 0, stateDir: join(dir, 'serving'), trustedKeysDir: join(dir, 'trusted'), adminSecret: secret });
    env = await startReleaseEnv({ serving: { url: serving.url, secret }, metrics });
    // The serving runtime trusts the release key (it re-reads the folder on every deploy).
    await copyFile(env.key.publicKeyPath, join(dir, 'trusted', basename(env.key.publicKeyPath)));
    admin = new ServingAdminClient({ baseUrl: serving.url, secret });
    divergent = join(dir, 'divergent.onnx');
    await writePerturbedModel(SAMPLE, divergent, 'b2', [5, -5, 0]); // pushes predictions towards class 0
  });
  after(async () => {
    await env?.stop();
    await serving?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const release = (path: string, canary: CanaryPlan) => env.start(env.request({ name: model, source: { kind: 'onnx', path }, canary: { model, policy: FAST_POLICY, ...canary } }));
  /** Traffic while `work` runs, so every bake has data. */
  async function underLoad<T>(work: Promise<T>): Promise<T> {
    const stop = new AbortController();
    const load = generateLoad({ baseUrl: serving.url, model, inputs: SIGNATURE, ratePerSecond: 150, durationSeconds: 120, signal: stop.signal, keys: 500 });
    try {
      return await work;
    } finally {
      stop.abort();
      await load;
    }
  }
  async function waitForPhase(handle: WorkflowHandle, phase: string): Promise<void> {
    for (let i = 0; i < 300; i++) {
      const status = await handle.query(releaseStatusQuery).catch(() => undefined);
      if (status?.canary?.phase === phase) return;
      await sleep(100);
    }
    assert.fail(`the canary never reached ${phase}`);
  }
  async function rolledBack(handle: WorkflowHandle): Promise<string> {
    const err = await handle.result().then(
      () => assert.fail('the canary must roll back'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
    assert.equal((await handle.describe()).typedSearchAttributes.get(ReleaseStage), 'rolled_back');
    return err.cause.message;
  }

  let v1: ReleaseResult;
  let v2: ReleaseResult;

  it('the first version goes straight to stable', async () => {
    const promoted = await releasesCounted('promoted');
    v1 = (await (await release(SAMPLE, {})).result()) as ReleaseResult;
    assert.deepEqual(v1.canary, { outcome: 'promoted', model, firstVersion: true, decisions: 1 });
    assert.equal((await admin.status(model)).slots.stable?.bundleDir, v1.bundleDir);
    assert.equal(await releasesCounted('promoted'), promoted + 1, 'the worker counts it as promoted');
  });

  it('a good canary is baked, analysed and promoted; the decisions carry the figures', async () => {
    const handle = await release(SAMPLE, { steps: [{ setWeight: 50 }, { bakeSeconds: 3 }] });
    v2 = (await underLoad(handle.result())) as ReleaseResult;
    assert.equal(v2.canary?.firstVersion, false);
    const status = await admin.status(model);
    assert.equal(status.slots.stable?.bundleDir, v2.bundleDir);
    assert.equal(status.slots.canary, null);
    assert.equal(status.previousStable?.bundleDir, v1.bundleDir);
    const decisions = (await handle.query(releaseStatusQuery)).canary!.decisions;
    const analysis = decisions.find((d) => d.kind === 'analysis');
    assert.equal(analysis?.verdict, 'pass', JSON.stringify(decisions));
    assert.match(analysis!.summary, /p99 canary .* ms vs .* ms.*agreement 100\.0%/);
    assert.equal((await handle.describe()).typedSearchAttributes.get(ReleaseStage), 'promoted');
  });

  it('a canary with divergent predictions is rolled back automatically, stable untouched', async () => {
    const handle = await release(divergent, { steps: [{ setWeight: 20 }, { bakeSeconds: 3 }] });
    const message = await underLoad(rolledBack(handle));
    assert.match(message, /rolled back: analysis failed at 20% canary traffic: fail .*agreement/);
    const status = await admin.status(model);
    assert.equal(status.slots.stable?.bundleDir, v2.bundleDir);
    assert.equal(status.slots.canary, null);
    assert.equal(status.canaryWeight, 0);
  });

  it('a slower canary with the same predictions is rolled back on latency, with the test figures', async () => {
    execFileSync(join(PROJECT_ROOT, '.venv', 'bin', 'python'), [join(PROJECT_ROOT, 'test', 'fixtures', 'make_smoke_models.py'), dir, '--slow']);
    const handle = await release(join(dir, 'slow-mlp.onnx'), { steps: [{ setWeight: 50 }, { bakeSeconds: 3 }] });
    const message = await underLoad(rolledBack(handle));
    // The verdict rests on the median shift (Hodges-Lehmann) and the p-value; the p99 tail can
    // go either way on a loaded 2-core machine, so only its presence is checked.
    assert.match(message, /fail \[latency-regression\]: p99 canary .* ms vs .* ms \([+-]\d+(\.\d+)?%, p=[\d.e-]+, shift \+\d+(\.\d+)?%\)/);
    assert.equal((await admin.status(model)).slots.stable?.bundleDir, v2.bundleDir);
  });

  it('an abort during a bake rolls back at once', async () => {
    const [rolledBackBefore, failedBefore] = [await releasesCounted('rolled_back'), await releasesCounted('failed')];
    const handle = await release(SAMPLE, { steps: [{ setWeight: 10 }, { bakeSeconds: 600 }] });
    await waitForPhase(handle, 'baking');
    await handle.executeUpdate(abortUpdate, { args: [{ reason: 'SRE saw a latency page' }] });
    assert.match(await rolledBack(handle), /SRE saw a latency page/);
    assert.equal((await admin.status(model)).slots.canary, null);
    assert.equal(await releasesCounted('rolled_back'), rolledBackBefore + 1, 'the worker counts it as rolled_back');
    assert.equal(await releasesCounted('failed'), failedBefore, 'and not as failed');
  });

  it('a pause waits for approval; without one it aborts by itself', async () => {
    const approved = await release(SAMPLE, { steps: [{ setWeight: 10 }, { pause: { timeoutSeconds: 60 } }] });
    await waitForPhase(approved, 'paused');
    assert.equal((await approved.describe()).typedSearchAttributes.get(ReleaseStage), 'paused');
    await approved.executeUpdate(approveUpdate);
    assert.equal(((await approved.result()) as ReleaseResult).canary?.outcome, 'promoted');

    const ignored = await release(SAMPLE, { steps: [{ setWeight: 10 }, { pause: { timeoutSeconds: 2 } }] });
    assert.match(await rolledBack(ignored), /approval timed out after 2s/);
  });

  it('rejects operator controls that make no sense in the current phase', async () => {
    const handle = await release(SAMPLE, { steps: [{ setWeight: 10 }, { bakeSeconds: 600 }] });
    await waitForPhase(handle, 'baking');
    await assert.rejects(handle.executeUpdate(approveUpdate), (err: unknown) => err instanceof WorkflowUpdateFailedError && /cannot approve now: the canary is baking/.test(String(err.cause?.message)));
    await handle.executeUpdate(abortUpdate, { args: [{}] });
    await rolledBack(handle);
  });

  it('too little traffic extends the bake, then waits for a person instead of deciding', async () => {
    // No load at all: every analysis is inconclusive.
    const handle = await release(SAMPLE, { steps: [{ setWeight: 30 }, { bakeSeconds: 1 }], maxExtensions: 1, approvalTimeoutSeconds: 60 });
    await waitForPhase(handle, 'paused');
    const decisions = (await handle.query(releaseStatusQuery)).canary!.decisions;
    assert.deepEqual(decisions.map((d) => `${d.kind}:${d.verdict}`), ['extend:inconclusive', 'analysis:inconclusive']);
    assert.match(decisions[0]!.summary, /inconclusive/);
    await handle.executeUpdate(abortUpdate, { args: [{ reason: 'not enough traffic today' }] });
    await rolledBack(handle);
  });
});
