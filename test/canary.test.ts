// The canary stage end to end: a real dev server, a real serving runtime, real bundles and
// traffic from the load generator. Short bakes and a small minimum sample keep it quick.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ServingAdminClient } from '../src/serving-client/admin-client.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { abortUpdate, approveUpdate, releaseStatusQuery } from '../src/workflow-definitions.js';
import { ReleaseStage } from '../src/search-attributes.js';
import type { CanaryPlan } from '../src/canary/plan.js';
import type { ReleaseResult } from '../src/release/types.js';
import { SAMPLE, startCanaryFixture, type CanaryFixture } from './helpers/canary-fixture.js';
import { writePerturbedModel } from './helpers/serving-fixture.js';
import { Scrape } from './helpers/prometheus.js';
import { WorkerMetrics } from '../src/metrics/worker-metrics.js';

describe('canary stage with a real serving runtime', () => {
  let fx: CanaryFixture;
  let admin: ServingAdminClient;
  let divergent: string;
  const metrics = new WorkerMetrics({ defaultMetrics: false });
  const releasesCounted = async (outcome: string) => new Scrape(await metrics.render()).value('modelship_releases_total', { outcome });

  before(async () => {
    fx = await startCanaryFixture({ metrics });
    admin = new ServingAdminClient({ baseUrl: fx.serving.url, secret: fx.secret });
    divergent = join(fx.dir, 'divergent.onnx');
    await writePerturbedModel(SAMPLE, divergent, 'b2', [5, -5, 0]); // pushes predictions towards class 0
  });
  after(async () => {
    await fx?.stop();
  });

  const release = (path: string, canary: CanaryPlan) => fx.release(canary, path);
  const underLoad = <T>(work: Promise<T>) => fx.underLoad(work);
  const waitForPhase = (handle: WorkflowHandle, phase: string) => fx.waitForPhase(handle, phase);
  async function rolledBack(handle: WorkflowHandle): Promise<string> {
    const err = await handle.result().then(
      async () => assert.fail(`the canary must roll back; its decisions: ${JSON.stringify((await handle.query(releaseStatusQuery)).canary?.decisions)}`),
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
    assert.deepEqual(v1.canary, { outcome: 'promoted', model: fx.model, firstVersion: true, decisions: 1 });
    assert.equal((await admin.status(fx.model)).slots.stable?.reference, v1.reference);
    assert.equal(await releasesCounted('promoted'), promoted + 1, 'the worker counts it as promoted');
  });

  it('a good canary is baked, analysed and promoted; the decisions carry the figures', async () => {
    const handle = await release(SAMPLE, { steps: [{ setWeight: 50 }, { bakeSeconds: 3 }] });
    v2 = (await underLoad(handle.result())) as ReleaseResult;
    assert.equal(v2.canary?.firstVersion, false);
    const status = await admin.status(fx.model);
    assert.equal(status.slots.stable?.reference, v2.reference);
    assert.equal(status.slots.canary, null);
    assert.equal(status.previousStable?.reference, v1.reference);
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
    const status = await admin.status(fx.model);
    assert.equal(status.slots.stable?.reference, v2.reference);
    assert.equal(status.slots.canary, null);
    assert.equal(status.canaryWeight, 0);
  });

  it('a slower canary with the same predictions is rolled back on latency, with the test figures', async () => {
    execFileSync(join(PROJECT_ROOT, '.venv', 'bin', 'python'), [join(PROJECT_ROOT, 'test', 'fixtures', 'make_smoke_models.py'), fx.dir, '--slow']);
    const handle = await release(join(fx.dir, 'slow-mlp.onnx'), { steps: [{ setWeight: 50 }, { bakeSeconds: 3 }] });
    const message = await underLoad(rolledBack(handle));
    // The verdict rests on the median shift (Hodges-Lehmann) and the p-value; the p99 tail can
    // go either way on a loaded 2-core machine, so only its presence is checked.
    assert.match(message, /fail \[latency-regression\]: p99 canary .* ms vs .* ms \([+-]\d+(\.\d+)?%, p=[\d.e-]+, shift \+\d+(\.\d+)?%\)/);
    assert.equal((await admin.status(fx.model)).slots.stable?.reference, v2.reference);
  });

  it('an abort during a bake rolls back at once', async () => {
    const [rolledBackBefore, failedBefore] = [await releasesCounted('rolled_back'), await releasesCounted('failed')];
    const handle = await release(SAMPLE, { steps: [{ setWeight: 10 }, { bakeSeconds: 600 }] });
    await waitForPhase(handle, 'baking');
    await handle.executeUpdate(abortUpdate, { args: [{ reason: 'SRE saw a latency page' }] });
    assert.match(await rolledBack(handle), /SRE saw a latency page/);
    assert.equal((await admin.status(fx.model)).slots.canary, null);
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
