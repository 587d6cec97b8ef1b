// The worker's metrics port as users run it: `modelship worker --metrics-port P` in its own
// process against a real dev server, real releases, then scrapes of that one port for
// modelship's metrics and Temporal Core's.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { PROJECT_ROOT } from '../src/paths.js';
import { generateKeyFiles } from '../src/crypto/keys.js';
import { releaseIdFor } from '../src/release/ids.js';
import { RELEASE_STAGES } from '../src/release/stages.js';
import type { ReleaseRequest, ReleaseResult } from '../src/release/types.js';
import { RELEASE_WORKFLOW_TYPE, releaseStatusQuery } from '../src/workflow-definitions.js';
import { outcomeOfError, outcomeOfResult } from '../src/metrics/release-outcome.js';
import { startMetricsServer } from '../src/metrics/metrics-server.js';
import { WorkerMetrics } from '../src/metrics/worker-metrics.js';
import { resolveMetricsEndpoint } from '../src/metrics/config.js';
import { coreMetricsTelemetry, SCHEDULE_TO_START_BUCKETS_MS } from '../src/metrics/core-telemetry.js';
import { createLogger } from '../src/logger.js';
import { freePorts, startDevServer, type DevServer } from './helpers/dev-server.js';
import { scrape, type Scrape } from './helpers/prometheus.js';
import { MetricsConfigError } from '../src/errors/index.js';

const BIN = join(PROJECT_ROOT, 'bin', 'modelship.js');
const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const PASSPHRASE = `metrics passphrase ${randomBytes(4).toString('hex')}`;

describe('modelship worker --metrics-port: modelship and Temporal Core metrics on one port', () => {
  let server: DevServer;
  let dir: string;
  let worker: ChildProcess;
  let workerLog = '';
  let metricsUrl: string;
  let connection: Connection;
  let client: Client;
  let keyPath: string;
  const taskQueue = `metrics-${randomBytes(4).toString('hex')}`;

  before(async () => {
    server = await startDevServer();
    dir = await mkdtemp(join(tmpdir(), 'modelship-metrics-'));
    keyPath = (await generateKeyFiles(join(dir, 'keys'), 'release', PASSPHRASE)).privateKeyPath;
    const [port] = await freePorts(1);
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: dir,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: server.namespace,
      TEMPORAL_CONFIG_FILE: join(dir, 'no-such-temporal.toml'),
      MODELSHIP_TASK_QUEUE: taskQueue,
      MODELSHIP_HOME: dir,
      MODELSHIP_BUNDLES_DIR: join(dir, 'bundles'),
      MODELSHIP_KEY_PASSPHRASE: PASSPHRASE,
      MODELSHIP_LOG_FORMAT: 'json',
    };
    worker = spawn(process.execPath, [BIN, 'worker', '--metrics-port', String(port)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    worker.stderr!.setEncoding('utf8').on('data', (d: string) => (workerLog += d));
    // Ready once it polls; an early exit fails with the worker's own words.
    await new Promise<void>((resolve, reject) => {
      const onData = () => workerLog.includes('"worker started"') && (worker.off('exit', onExit), resolve());
      const onExit = (code: number | null) => reject(new Error(`worker exited (${code}) before starting:\n${workerLog}`));
      worker.stderr!.on('data', onData);
      worker.once('exit', onExit);
    });
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection, namespace: server.namespace });
  });

  after(async () => {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    await connection?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const request = (version: string, source: string): ReleaseRequest => ({
    name: 'metrics-mlp',
    version,
    source: { kind: 'onnx', path: source },
    signingKeyPath: keyPath,
    requestedBy: 'worker-metrics test',
  });
  const start = (r: ReleaseRequest) =>
    client.workflow.start(RELEASE_WORKFLOW_TYPE, { taskQueue, workflowId: releaseIdFor(r.name, r.version), args: [r] });

  it('before any release: every outcome exists at zero and Core is readable', async () => {
    const s = await scrape(metricsUrl);
    for (const outcome of ['released', 'promoted', 'rolled_back', 'failed']) assert.equal(s.value('modelship_releases_total', { outcome }), 0, outcome);
    assert.equal(s.value('modelship_hashed_bytes_total'), 0);
    assert.equal(s.value('modelship_core_metrics_up'), 1);
  });

  let released: ReleaseResult;
  let afterRelease: Scrape;

  it('a release counts once as released, with its bytes hashed and a timed attempt of every stage', async () => {
    const handle = await start(request('1.0.0', SAMPLE));
    released = (await handle.result()) as ReleaseResult;
    afterRelease = await scrape(metricsUrl);
    const s = afterRelease;
    assert.equal(s.value('modelship_releases_total', { outcome: 'released' }), 1);
    assert.equal(s.value('modelship_releases_total', { outcome: 'failed' }), 0);
    assert.equal(s.value('modelship_release_duration_seconds_count', { outcome: 'released' }), 1);

    const modelBytes = released.files.reduce((n, f) => n + f.size, 0);
    assert.equal(modelBytes, (await readFile(SAMPLE)).length);
    assert.equal(s.value('modelship_hashed_bytes_total'), modelBytes);

    // export..smoke run one activity each; canary here is the servingTarget check (no serving runtime).
    for (const stage of RELEASE_STAGES) {
      assert.equal(s.value('modelship_stage_duration_seconds_count', { stage, outcome: 'succeeded' }), 1, `stage ${stage}`);
      assert.equal(s.find('modelship_stage_duration_seconds_count', { stage, outcome: 'failed' }).length, 0, `stage ${stage} failed`);
    }
    assert.equal(s.value('modelship_stage_duration_seconds_count', { stage: 'hash', activity: 'hashBundle' }), 1);
    assert.equal(s.value('modelship_stage_duration_seconds_bucket', { stage: 'hash', outcome: 'succeeded', le: '+Inf' }), 1);
    assert.equal(s.find('modelship_activity_retries_total').length, 0, 'no activity was retried');
  });

  it('Temporal Core\'s metrics are served on the same port, and agree with modelship\'s', async () => {
    const s = afterRelease;
    const core = [...s.names()].filter((n) => n.startsWith('temporal_'));
    assert.ok(core.length >= 10, `expected Temporal Core metrics, got: ${core.join(', ')}`);
    const queue = { task_queue: taskQueue };
    assert.equal(s.value('temporal_workflow_completed', { ...queue, workflow_type: RELEASE_WORKFLOW_TYPE }), 1);
    assert.ok(s.find('temporal_worker_task_slots_available', queue).length > 0, 'slot gauges of this worker');
    // The activities Core saw succeed are the attempts modelship timed.
    const succeeded = s.find('modelship_stage_duration_seconds_count', { outcome: 'succeeded' }).reduce((n, x) => n + x.value, 0);
    const coreActivities = s.find('temporal_activity_execution_latency_count', queue).reduce((n, x) => n + x.value, 0);
    assert.equal(coreActivities, succeeded);
    // One family per name: the two halves never define the same metric.
    const typeLines = s.text.split('\n').filter((l) => l.startsWith('# TYPE '));
    assert.equal(new Set(typeLines.map((l) => l.split(' ')[2])).size, typeLines.length, 'a metric family is defined twice');
  });

  it('a query on the finished release (a replay on the worker) does not count it again', async () => {
    const status = await client.workflow.getHandle(released.releaseId).query(releaseStatusQuery);
    assert.equal(status.outcome.state, 'released');
    const s = await scrape(metricsUrl);
    assert.equal(s.value('modelship_releases_total', { outcome: 'released' }), 1);
    assert.equal(s.value('modelship_release_duration_seconds_count', { outcome: 'released' }), 1);
  });

  it('a corrupt ONNX file counts as failed, with the failed export attempt and its error type', async () => {
    const corrupt = join(dir, 'corrupt.onnx');
    const good = await readFile(SAMPLE);
    await writeFile(corrupt, good.subarray(0, Math.floor(good.length / 2)));
    const handle = await start(request('1.0.1', corrupt));
    await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure && /failed at export/.test(err.cause.message));
    const s = await scrape(metricsUrl);
    assert.equal(s.value('modelship_releases_total', { outcome: 'failed' }), 1);
    assert.equal(s.value('modelship_releases_total', { outcome: 'released' }), 1);
    assert.equal(s.value('modelship_release_duration_seconds_count', { outcome: 'failed' }), 1);
    assert.equal(s.value('modelship_stage_duration_seconds_count', { stage: 'export', outcome: 'failed' }), 1);
    assert.equal(s.value('modelship_activity_failures_total', { activity: 'exportModel', error_type: 'CorruptModelError' }), 1);
    assert.equal(s.value('temporal_workflow_failed', { task_queue: taskQueue, workflow_type: RELEASE_WORKFLOW_TYPE }), 1, 'Core saw the same failure');
    // Nothing after export ran, so nothing more was hashed.
    assert.equal(s.value('modelship_hashed_bytes_total'), afterRelease.value('modelship_hashed_bytes_total'));
  });

  it('serves /metrics only', async () => {
    const root = await fetch(metricsUrl.replace(/\/metrics$/, '/'));
    assert.equal(root.status, 404);
    await root.body?.cancel();
    const post = await fetch(metricsUrl, { method: 'POST' });
    assert.equal(post.status, 405);
    await post.body?.cancel();
  });

  it('the worker logs where it serves metrics and stops cleanly on SIGTERM', async () => {
    assert.match(workerLog, new RegExp(`"metricsUrl":"${metricsUrl.replace(/[.]/g, '\\.')}"`));
    worker.kill('SIGTERM');
    const [code] = (await once(worker, 'exit')) as [number | null];
    assert.equal(code, 0, workerLog.slice(-2000));
    await assert.rejects(fetch(metricsUrl), 'the metrics port is closed with the worker');
  });
});

describe('worker metrics pieces', () => {
  it('release outcomes: released or promoted from the result; rolled_back, failed or none from the error', () => {
    assert.equal(outcomeOfResult({ releaseId: 'r' }), 'released');
    assert.equal(outcomeOfResult({ releaseId: 'r', canary: { outcome: 'promoted' } }), 'promoted');
    // The shape ReleaseWorkflow's stage() throws: ReleaseFailed, the stage error in details, the original as cause.
    const rolledBack = ApplicationFailure.create({ type: 'CanaryRolledBack', message: 'canary of m rolled back', nonRetryable: true });
    const releaseFailed = (error: { type: string }, cause?: Error) =>
      ApplicationFailure.create({ type: 'ReleaseFailed', message: 'release failed at canary', nonRetryable: true, details: [{ stage: 'canary', ...error }], ...(cause ? { cause } : {}) });
    assert.equal(outcomeOfError(releaseFailed({ type: 'CanaryRolledBack' }, rolledBack)), 'rolled_back');
    assert.equal(outcomeOfError(releaseFailed({ type: 'CanaryRolledBack' })), 'rolled_back');
    assert.equal(outcomeOfError(releaseFailed({ type: 'SmokeFailed' })), 'failed');
    assert.equal(outcomeOfError(ApplicationFailure.nonRetryable('bad request', 'InvalidReleaseRequest')), 'failed');
    // A plain Error fails the workflow task (Temporal retries it), not the release.
    assert.equal(outcomeOfError(new TypeError('bug')), undefined);
  });

  it('the metrics port setting: flag over environment, host 127.0.0.1 by default, nothing without a port', () => {
    assert.equal(resolveMetricsEndpoint({}, {}), undefined);
    assert.deepEqual(resolveMetricsEndpoint({}, { MODELSHIP_WORKER_METRICS_PORT: '9464' }), { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(resolveMetricsEndpoint({ metricsPort: '9000', metricsHost: '0.0.0.0' }, { MODELSHIP_WORKER_METRICS_PORT: '9464' }), { host: '0.0.0.0', port: 9000 });
    for (const bad of ['-1', '65536', '12ab', ' 80']) assert.throws(() => resolveMetricsEndpoint({ metricsPort: bad }, {}), MetricsConfigError, bad);
  });

  it('schedule-to-start histograms get buckets below 100 ms and keep every Core default bound, so le queries still match', () => {
    const { telemetry } = coreMetricsTelemetry(9999);
    const overrides = (telemetry.metrics as { prometheus: { histogramBucketOverrides: Record<string, number[]> } }).prometheus.histogramBucketOverrides;
    assert.deepEqual(Object.keys(overrides).sort(), ['activity_schedule_to_start_latency', 'workflow_task_schedule_to_start_latency']);
    for (const bound of [100, 500, 1000, 5000, 10000, 100000, 1000000]) assert.ok(SCHEDULE_TO_START_BUCKETS_MS.includes(bound), `Core's bound ${bound}`);
    assert.ok(SCHEDULE_TO_START_BUCKETS_MS.filter((b) => b < 100).length >= 5);
    assert.deepEqual([...SCHEDULE_TO_START_BUCKETS_MS].sort((a, b) => a - b), SCHEDULE_TO_START_BUCKETS_MS);
  });

  it('when Core cannot be read the scrape still answers, with modelship_core_metrics_up 0', async () => {
    const [closedPort] = await freePorts(1);
    const metrics = new WorkerMetrics({ defaultMetrics: false });
    metrics.bytesHashed(1234);
    const logger = createLogger('metrics-test', { level: 'silent' });
    const served = await startMetricsServer({ metrics, port: 0, coreMetricsUrl: `http://127.0.0.1:${closedPort}/metrics`, logger });
    try {
      const s = await scrape(`${served.url}/metrics`);
      assert.equal(s.value('modelship_core_metrics_up'), 0);
      assert.equal(s.value('modelship_hashed_bytes_total'), 1234);
      assert.equal([...s.names()].filter((n) => n.startsWith('temporal_')).length, 0);
    } finally {
      await served.close();
    }
  });
});
