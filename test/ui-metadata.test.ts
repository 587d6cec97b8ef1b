// What an SRE sees in the Web UI, read back through the client as the UI reads it: static
// summary and details, typed search attributes and list filters, the live current details
// (built-in metadata query), handler descriptions, and the summaries on the timeline.
import { pino } from 'pino';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { startServingRuntime, type ServingRuntime } from '../src/serving/serve.js';
import { generateLoad } from '../src/load/load-generator.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { abortUpdate, releaseStatusQuery } from '../src/workflow-definitions.js';
import { BatchId, CanaryWeight, ModelDigest, ModelName, ModelVersion, ReleaseStage, Verdict } from '../src/search-attributes.js';
import { releaseSummary, STATIC_SUMMARY_MAX_BYTES } from '../src/release/start-metadata.js';
import { fmtDuration } from '../src/release/markdown.js';
import type { CanaryPlan } from '../src/canary/plan.js';
import type { ReleaseRequest, ReleaseResult } from '../src/release/types.js';
import { startReleaseEnv, TEST_PASSPHRASE, type ReleaseEnv } from './helpers/release-env.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const SIGNATURE = [{ name: 'features', type: 'float32', shape: ['batch', 4] }] as const;
const FAST_POLICY = { minSamplesPerSlot: 30, minShadowComparisons: 20 };

interface WorkflowMetadata {
  definition: {
    type: string;
    queryDefinitions: Array<{ name: string; description?: string }>;
    signalDefinitions: Array<{ name: string; description?: string }>;
    updateDefinitions: Array<{ name: string; description?: string }>;
  };
  currentDetails: string;
}

const decode = (payload: Payload | null | undefined): unknown => (payload ? defaultPayloadConverter.fromPayload(payload) : undefined);

/** The timeline as the Web UI shows it: each activity's and timer's summary, in order. */
async function timeline(handle: WorkflowHandle): Promise<{ activities: Array<{ type: string; summary: unknown }>; timers: unknown[] }> {
  const events = (await handle.fetchHistory()).events ?? [];
  return {
    activities: events
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => ({ type: e.activityTaskScheduledEventAttributes!.activityType!.name!, summary: decode(e.userMetadata?.summary) })),
    timers: events.filter((e) => e.timerStartedEventAttributes).map((e) => decode(e.userMetadata?.summary)),
  };
}

/** Every value a search attribute took, from the upserts in history. */
async function upsertedValues(handle: WorkflowHandle, name: string): Promise<unknown[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events
    .map((e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[name])
    .filter((p): p is Payload => Boolean(p))
    .map(decode);
}

describe('what the Web UI shows for a release', () => {
  let env: ReleaseEnv;
  let serving: ServingRuntime;
  let dir: string;
  const secret = randomBytes(24).toString('hex');
  const model = `ui-${randomBytes(3).toString('hex')}`;
  const batchId = `batch-${randomBytes(3).toString('hex')}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelship-ui-'));
    await mkdir(join(dir, 'trusted'));
    serving = await startServingRuntime({ host: '127.0.0.1', port: 0, stateDir: join(dir, 'serving'), trustedKeysDir: join(dir, 'trusted'), adminSecret: secret, logger: pino({ level: 'silent' }) });
    env = await startReleaseEnv({ serving: { url: serving.url, secret } });
    await copyFile(env.key.publicKeyPath, join(dir, 'trusted', basename(env.key.publicKeyPath)));
  });
  after(async () => {
    await env?.stop();
    await serving?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const metadata = (handle: WorkflowHandle) => handle.query<WorkflowMetadata>('__temporal_workflow_metadata');

  /** Visibility is eventually consistent: poll the list until it shows the release (bounded). */
  async function listed(query: string, workflowId: string): Promise<void> {
    let ids: string[] = [];
    for (let i = 0; i < 150; i++) {
      ids = [];
      for await (const execution of env.client.workflow.list({ query })) ids.push(execution.workflowId);
      if (ids.includes(workflowId)) return;
      await sleep(200);
    }
    assert.fail(`${query} never listed ${workflowId} (got ${ids.join(', ') || 'nothing'})`);
  }

  async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
    let value = await read();
    for (let i = 0; i < 300 && !ok(value); i++) {
      await sleep(100);
      value = await read().catch(() => value);
    }
    assert.ok(ok(value), `${what} never happened (last: ${JSON.stringify(value)})`);
    return value;
  }

  const canaryRelease = (canary: CanaryPlan): ReleaseRequest => env.request({ name: model, source: { kind: 'onnx', path: SAMPLE }, canary: { model, policy: FAST_POLICY, ...canary } });

  it('a release without deployment: summary, details, attributes, filters, current details, timeline', async () => {
    const request = env.request({ source: { kind: 'onnx', path: SAMPLE }, canary: false, batchId, smoke: { seed: 7 } });
    const handle = await env.start(request);
    const result = (await handle.result()) as ReleaseResult;

    const description = await handle.describe();
    assert.equal(await description.staticSummary(), `${request.name}@${request.version} · ONNX sample-mlp.onnx · batch ${batchId}`);
    const details = (await description.staticDetails()) ?? '';
    for (const needle of [`### Release ${request.name}@${request.version}`, SAMPLE, '`release.key.pem`', env.key.privateKeyPath, 'seed 7', `\`${batchId}\``, 'No deployment']) {
      assert.ok(details.includes(needle), `static details should mention ${needle}:\n${details}`);
    }
    assert.ok(!details.includes(TEST_PASSPHRASE) && !details.includes('PRIVATE KEY'), 'no secret in the static details');

    const sa = description.typedSearchAttributes;
    assert.equal(sa.get(ModelName), request.name);
    assert.equal(sa.get(ModelVersion), request.version);
    assert.equal(sa.get(ModelDigest), `sha256:${result.rootDigest}`);
    assert.equal(sa.get(ReleaseStage), 'released');
    assert.equal(sa.get(Verdict), 'pass');
    assert.equal(sa.get(BatchId), batchId);
    assert.equal(sa.get(CanaryWeight), undefined, 'no canary ran');

    await listed(`ReleaseStage="released" AND ModelVersion="${request.version}"`, handle.workflowId);
    await listed(`BatchId="${batchId}" AND Verdict="pass"`, handle.workflowId);

    // Live details are served by the worker (it is up): the final state with the stage figures.
    const { definition, currentDetails } = await metadata(handle);
    assert.match(currentDetails, /stage \*\*released\*\* · verdict \*\*pass\*\* · 6 of 6 stages done/);
    assert.ok(currentDetails.includes(result.rootDigest), currentDetails);
    assert.ok(currentDetails.includes(result.kid), currentDetails);
    assert.match(currentDetails, /\| canary \| ⏭ skipped: the release asked for no deployment/);
    assert.equal(definition.type, 'ReleaseWorkflow');
    const handlers = [...definition.queryDefinitions, ...definition.signalDefinitions, ...definition.updateDefinitions];
    for (const name of ['releaseStatus', 'approve', 'promote', 'abort']) assert.ok(handlers.some((h) => h.name === name), `${name} is registered`);
    for (const h of handlers) assert.ok(h.description && h.description.length > 10, `${h.name} has a description`);

    const { activities, timers } = await timeline(handle);
    assert.deepEqual(activities, [
      { type: 'exportModel', summary: 'export sample-mlp.onnx: inspect the ONNX model, write the bundle' },
      { type: 'hashBundle', summary: 'hash model files (SHA-256, root digest)' },
      { type: 'signManifest', summary: 'sign model.yaml (Ed25519 JWS) with release.key.pem' },
      { type: 'attestProvenance', summary: 'attest SLSA provenance (DSSE) with release.key.pem' },
      { type: 'smokeTest', summary: 'smoke test: sandboxed inference vs onnxruntime-node' },
    ]);
    assert.deepEqual(timers, []);
  });

  it('a failed release: Verdict failed, found by the filter, the failure in the current details', async () => {
    const corrupt = join(dir, 'corrupt.onnx');
    await writeFile(corrupt, (await readFile(SAMPLE)).subarray(0, 800));
    const request = env.request({ source: { kind: 'onnx', path: corrupt }, batchId });
    const handle = await env.start(request);
    await assert.rejects(handle.result());
    const sa = (await handle.describe()).typedSearchAttributes;
    assert.equal(sa.get(ReleaseStage), 'failed');
    assert.equal(sa.get(Verdict), 'failed');
    await listed(`Verdict="failed" AND BatchId="${batchId}"`, handle.workflowId);
    assert.match((await metadata(handle)).currentDetails, /Failed at \*\*export\*\*: `CorruptModelError`/);
  });

  it('a first canary version goes straight to stable: promoted at 100%', async () => {
    const handle = await env.start(canaryRelease({}));
    await handle.result();
    const sa = (await handle.describe()).typedSearchAttributes;
    assert.equal(sa.get(ReleaseStage), 'promoted');
    assert.equal(sa.get(Verdict), 'promoted');
    assert.equal(sa.get(CanaryWeight), 100);
    await listed(`CanaryWeight=100 AND ModelName="${model}"`, handle.workflowId);
  });

  it('a paused canary shows its weight live; an abort leaves it rolled back at 0%', async () => {
    const handle = await env.start(canaryRelease({ steps: [{ setWeight: 20 }, { pause: { timeoutSeconds: 120 } }] }));
    const details = (await (await handle.describe()).staticDetails()) ?? '';
    assert.ok(details.includes('steps: 20% → pause (up to 2m) → promote'), details);
    assert.ok(details.includes('minSamplesPerSlot 30'), details);

    await until('the pause', () => handle.describe().then((d) => d.typedSearchAttributes.get(ReleaseStage)), (stage) => stage === 'paused');
    const live = (await handle.describe()).typedSearchAttributes;
    assert.equal(live.get(CanaryWeight), 20);
    assert.equal(live.get(Verdict), 'pending');
    await listed(`ReleaseStage="paused" AND CanaryWeight=20 AND ModelName="${model}"`, handle.workflowId);
    const { currentDetails } = await metadata(handle);
    assert.match(currentDetails, /stage \*\*paused\*\* · verdict \*\*pending\*\* · canary weight \*\*20%\*\*/);
    assert.match(currentDetails, /#### Canary `[^`]+`: paused, step 2 of 2, weight 20%/);

    await handle.executeUpdate(abortUpdate, { args: [{ reason: 'UI test abort' }] });
    await assert.rejects(handle.result());
    const sa = (await handle.describe()).typedSearchAttributes;
    assert.equal(sa.get(ReleaseStage), 'rolled_back');
    assert.equal(sa.get(Verdict), 'rolled_back');
    assert.equal(sa.get(CanaryWeight), 0);
    await listed(`Verdict="rolled_back" AND ModelName="${model}"`, handle.workflowId);
    assert.match((await metadata(handle)).currentDetails, /\*\*abort\*\*: UI test abort/);

    const { activities, timers } = await timeline(handle);
    assert.deepEqual(activities.slice(-3), [
      { type: 'deployCanary', summary: `deploy canary of ${model} (shadow traffic on)` },
      { type: 'setCanaryWeight', summary: 'shift 20% of traffic to the canary' },
      { type: 'rollbackCanary', summary: `roll back canary of ${model}: UI test abort` },
    ]);
    assert.equal(activities.find((a) => a.type === 'servingTarget')?.summary, 'check for a serving runtime');
    assert.deepEqual(timers, ['wait for an operator (pause step at 20%; aborts after 2m)']);
  });

  it('a good canary: the judge\'s verdict and figures on the way, promoted at 100% in the end', async () => {
    const handle = await env.start(canaryRelease({ steps: [{ setWeight: 50 }, { bakeSeconds: 3 }] }));
    const stop = new AbortController();
    const load = generateLoad({ baseUrl: serving.url, model, inputs: SIGNATURE, ratePerSecond: 100, durationSeconds: 120, signal: stop.signal, keys: 500 });
    try {
      await handle.result();
    } finally {
      stop.abort();
      await load;
    }
    const sa = (await handle.describe()).typedSearchAttributes;
    assert.equal(sa.get(Verdict), 'promoted');
    assert.equal(sa.get(CanaryWeight), 100);
    // On the way: deployed at 0%, shifted to 50%, judged (extensions are inconclusive), promoted.
    const verdicts = await upsertedValues(handle, 'Verdict');
    assert.equal(verdicts[0], 'pending');
    assert.equal(verdicts.at(-2), 'pass', JSON.stringify(verdicts));
    assert.equal(verdicts.at(-1), 'promoted');
    assert.deepEqual(await upsertedValues(handle, 'CanaryWeight'), [0, 50, 100]);

    const { currentDetails } = await metadata(handle);
    const analysis = (await handle.query(releaseStatusQuery)).canary?.lastAnalysis;
    assert.equal(analysis?.judgement.verdict, 'pass');
    assert.match(currentDetails, /Latest analysis \(\d\d:\d\d:\d\dZ, canary at 50%\): \*\*pass\*\*/);
    assert.ok(currentDetails.includes(`| requests | ${analysis!.judgement.metrics.baseline.requests} | ${analysis!.judgement.metrics.canary.requests} |`), currentDetails);
    assert.match(currentDetails, /prediction agreement 100\.0% of \d+ shadow comparisons/);
    assert.match(currentDetails, /✅ latency-regression: /);

    const { activities, timers } = await timeline(handle);
    assert.ok(activities.some((a) => a.type === 'analyzeCanary' && /^judge canary vs stable at 50% \(last \d+(\.\d+)?s\)$/.test(String(a.summary))), JSON.stringify(activities));
    assert.equal(activities.at(-1)?.summary, `promote canary of ${model} to stable (100%)`);
    assert.equal(timers[0], 'bake 50% for 3s');
    for (const a of activities) assert.notEqual(a.summary, undefined, `${a.type} has a summary`);
  });
});

describe('start metadata (pure)', () => {
  it('keeps the static summary within 200 bytes, cutting whole characters', () => {
    const summary = releaseSummary({ name: 'm', version: '1', signingKeyPath: 'k', source: { kind: 'onnx', path: `/models/${'模型'.repeat(100)}.onnx` } });
    assert.ok(Buffer.byteLength(summary) <= STATIC_SUMMARY_MAX_BYTES, `${Buffer.byteLength(summary)} bytes`);
    assert.ok(summary.startsWith('m@1 · ONNX 模型') && summary.endsWith('…'), summary);
  });

  it('formats durations as the timeline shows them', () => {
    assert.deepEqual([3, 60, 90, 120, 3600, 5400].map(fmtDuration), ['3s', '1m', '1m30s', '2m', '1h', '1h30m']);
  });
});
