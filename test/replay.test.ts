// Replays committed ReleaseWorkflow and BatchRolloutWorkflow histories against today's workflow code, so a change
// that would break running workflows fails CI.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { DeterminismViolationError } from '@temporalio/workflow';
import { releaseMetricsSinks, WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from '../src/release-worker.js';
import { WorkerMetrics } from '../src/metrics/worker-metrics.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { Resource } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';

const HISTORIES = join(PROJECT_ROOT, 'test', 'histories');
Runtime.install({ logger: new DefaultLogger('ERROR') });

async function recorded() {
  const files = (await readdir(HISTORIES)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({ workflowId: file.replace(/\.json$/, ''), history: historyFromJSON(JSON.parse(await readFile(join(HISTORIES, file), 'utf8'))) })),
  );
}

describe('replay of recorded workflow histories', () => {
  it('today\'s workflows (with the worker\'s interceptors and sinks) replay every recorded history', async () => {
    const histories = await recorded();
    assert.ok(histories.length >= 3, 'expected the recorded success and failure histories');
    // The previous workflow version's releases (five patch markers, now deprecatePatch) and this version's.
    for (const kind of ['v0.5-before-retired-patches-release-succeeded', 'v0.5-before-retired-patches-release-canary-aborted', 'release-succeeded']) {
      assert.ok(histories.some((h) => h.workflowId === kind), `expected the recorded ${kind} history`);
    }
    for (const kind of ['batch-rollout-halted', 'batch-rollout-continued-as-new-first-run', 'batch-rollout-adopted-running']) {
      assert.ok(histories.some((h) => h.workflowId === kind), `expected the recorded ${kind} history`);
    }
    const metrics = new WorkerMetrics({ defaultMetrics: false });
    let replayed = 0;
    const options = { workflowsPath: WORKFLOWS_PATH, interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES }, sinks: releaseMetricsSinks(metrics) };
    for await (const result of Worker.runReplayHistories(options, histories)) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${result.error?.message}`);
      replayed++;
    }
    assert.equal(replayed, histories.length);
    // A replay is not a release finishing: nothing is counted.
    assert.doesNotMatch(await metrics.render(), /^modelship_releases_total\{[^}]*\} [1-9]/m);
  });

  it('a traced worker (the OpenTelemetry plugin) replays every recorded history too', async () => {
    // Histories were recorded untraced; a worker that starts tracing must still replay them.
    const histories = await recorded();
    const exporter = new InMemorySpanExporter();
    const plugin = new OpenTelemetryPlugin({ resource: new Resource({ 'service.name': 'replay-test' }), spanProcessor: new SimpleSpanProcessor(exporter) });
    const metrics = new WorkerMetrics({ defaultMetrics: false });
    const options = { workflowsPath: WORKFLOWS_PATH, interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES }, sinks: releaseMetricsSinks(metrics), plugins: [plugin] };
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(options, histories)) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${result.error?.message}`);
      replayed++;
    }
    assert.equal(replayed, histories.length);
  });

  it('a reordered workflow fails replay with a determinism error', async () => {
    const histories = (await recorded()).filter((h) => h.workflowId === 'release-succeeded');
    const reordered = fileURLToPath(new URL('./fixtures/reordered-workflow.js', import.meta.url));
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowsPath: reordered }, histories)) results.push(result);
    assert.equal(results.length, 1);
    assert.ok(results[0]!.error instanceof DeterminismViolationError, `expected a determinism violation, got ${results[0]!.error}`);
  });
});
