// The release report from real histories: a canary promoted after two analyses under load, and
// one an operator aborted with an abort reason full of HTML. The model comes from history alone;
// the CLI writes the page; everything from history is escaped.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { abortUpdate, releaseStatusQuery } from '../src/workflow-definitions.js';
import { buildReleaseReport, type ReleaseReport } from '../src/report/release-report.js';
import { renderReportHtml } from '../src/report/report-html.js';
import { escapeHtml } from '../src/report/html-escape.js';
import { PROJECT_ROOT } from '../src/paths.js';
import type { ReleaseResult } from '../src/release/types.js';
import { RELEASE_STAGES } from '../src/release/stages.js';
import { startCanaryFixture, type CanaryFixture } from './helpers/canary-fixture.js';

const HOSTILE_REASON = `<script>alert("pwned")</script> & <img src=x onerror='alert(1)'>`;

describe('release report', () => {
  let fx: CanaryFixture;
  let promoted: WorkflowHandle;
  let promotedResult: ReleaseResult;
  let aborted: WorkflowHandle;

  before(async () => {
    fx = await startCanaryFixture();
    await (await fx.release({})).result(); // first version: straight to stable
    promoted = await fx.release({ steps: [{ setWeight: 20 }, { bakeSeconds: 2 }, { setWeight: 50 }, { bakeSeconds: 2 }] });
    promotedResult = (await fx.underLoad(promoted.result())) as ReleaseResult;
    aborted = await fx.release({ steps: [{ setWeight: 10 }, { bakeSeconds: 600 }] });
    await fx.waitForPhase(aborted, 'baking');
    await aborted.executeUpdate(abortUpdate, { args: [{ reason: HOSTILE_REASON }] });
    await aborted.result().catch(() => undefined);
  });
  after(async () => {
    await fx?.stop();
  });

  const reportOf = async (handle: WorkflowHandle): Promise<ReleaseReport> => buildReleaseReport(await handle.fetchHistory(), handle.workflowId);

  it('reads stages, timings, digests and verification of a promoted canary from its history', async () => {
    const report = await reportOf(promoted);
    assert.equal(report.outcome, 'promoted');
    assert.equal(report.releaseId, promotedResult.releaseId);
    assert.equal(report.workflowType, 'ReleaseWorkflow');
    assert.deepEqual(report.stages.map((s) => s.name), [...RELEASE_STAGES]);
    for (const stage of report.stages) {
      assert.equal(stage.state, 'succeeded', `${stage.name}: ${JSON.stringify(stage)}`);
      assert.ok(stage.durationMs !== undefined && stage.durationMs >= 0, `${stage.name} has a duration`);
      assert.ok(stage.attempts >= 1);
    }
    // The canary lasts through both bakes: at least the 4 s of timers.
    assert.ok(report.stages.find((s) => s.name === 'canary')!.durationMs! >= 4000);
    assert.ok(report.durationMs! >= report.stages.find((s) => s.name === 'canary')!.durationMs!);
    assert.equal(report.digests.rootDigest, promotedResult.rootDigest);
    assert.deepEqual(report.digests.files, promotedResult.files);
    assert.equal(report.stages.find((s) => s.name === 'hash')!.figures.rootDigest, `sha256:${promotedResult.rootDigest}`);
    assert.deepEqual(report.signature?.kids, [promotedResult.kid]);
    assert.equal(report.verification?.rootDigest, promotedResult.rootDigest);
    assert.deepEqual(report.verification?.countedKids, [promotedResult.kid]);
    assert.equal(report.smoke?.result, 'PASSED');
    assert.equal(report.request?.name, fx.model);
  });

  it('has every canary analysis with its figures, and the decision log the workflow kept', async () => {
    const report = await reportOf(promoted);
    const analyses = report.canary!.analyses;
    assert.deepEqual(analyses.map((a) => [a.weight, a.verdict]), [[20, 'pass'], [50, 'pass']]);
    for (const a of analyses) {
      assert.ok(a.stable.requests >= 30 && a.canary.requests >= 30, JSON.stringify(a));
      assert.ok(a.canary.p99Ms !== null && a.stable.p50Ms !== null);
      assert.equal(a.agreementRate, 1);
      assert.equal(a.canary.errorRate, 0);
    }
    assert.deepEqual(
      report.decisions.map((d) => `${d.kind}@${d.weight}`),
      ['weight@0', 'weight@20', 'analysis@20', 'weight@50', 'analysis@50', 'promote@50'],
    );
    // Rebuilt from history, the analysis decisions read exactly as the workflow's own log.
    const tracker = (await promoted.query(releaseStatusQuery)).canary!.decisions.filter((d) => d.kind === 'analysis');
    assert.deepEqual(
      report.decisions.filter((d) => d.kind === 'analysis').map((d) => [d.weight, d.verdict, d.summary]),
      tracker.map((d) => [d.weight, d.verdict, d.summary]),
    );
  });

  it('renders one self-contained page: stage table, three charts, analyses, decisions; nothing fetched', async () => {
    const html = renderReportHtml(await reportOf(promoted));
    assert.equal((html.match(/<svg class="chart"/g) ?? []).length, 3);
    for (const id of ['chart-latency', 'chart-errors', 'chart-agreement', 'stages', 'verification', 'analyses', 'decisions', 'files']) assert.ok(html.includes(`id="${id}"`), id);
    for (const stage of RELEASE_STAGES) assert.ok(html.includes(`<tr data-stage="${stage}">`), stage);
    // Two analyses: each series of the latency chart is a line through two points.
    assert.ok((html.match(/<polyline /g) ?? []).length >= 4);
    assert.doesNotMatch(html, /<script|<link|@import|url\(|src=|href=/i);
  });

  it('escapes what history holds: an abort reason full of HTML stays text', async () => {
    const report = await reportOf(aborted);
    assert.equal(report.outcome, 'rolled_back');
    const canary = report.stages.find((s) => s.name === 'canary')!;
    assert.equal(canary.state, 'failed');
    assert.equal(canary.error?.type, 'CanaryRolledBack');
    const abort = report.decisions.find((d) => d.kind === 'abort');
    assert.equal(abort?.summary, `aborted by an operator: ${HOSTILE_REASON}`);
    assert.deepEqual(report.decisions.map((d) => d.kind), ['weight', 'weight', 'abort', 'rollback']);
    const html = renderReportHtml(report);
    assert.ok(!html.includes(HOSTILE_REASON) && !html.includes('<script') && !html.includes('<img'), 'raw HTML from history must not reach the page');
    assert.ok(html.includes(escapeHtml(HOSTILE_REASON)));
  });

  it('a history in JSON gives the same report, and an empty one is a release that has not started', async () => {
    const history = await promoted.fetchHistory();
    const { historyToJSON } = await import('@temporalio/common/lib/proto-utils.js');
    assert.deepEqual(buildReleaseReport(historyFromJSON(JSON.parse(historyToJSON(history))), promoted.workflowId), buildReleaseReport(history, promoted.workflowId));
    const empty = buildReleaseReport({ events: [] }, 'release-x-1');
    assert.equal(empty.outcome, 'running');
    assert.deepEqual(empty.stages.map((s) => s.state), RELEASE_STAGES.map(() => 'pending'));
  });

  it('modelship report writes the page and says where', async () => {
    const file = join(fx.dir, 'report.html');
    const env = {
      PATH: process.env.PATH,
      HOME: fx.dir,
      TEMPORAL_ADDRESS: fx.env.server.address,
      TEMPORAL_NAMESPACE: fx.env.server.namespace,
      TEMPORAL_CONFIG_FILE: join(fx.dir, 'none.toml'),
    };
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'modelship.js'), 'report', promoted.workflowId, '-o', file, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise((resolve) => child.once('close', resolve));
    assert.equal(code, 0, stderr);
    const answer = JSON.parse(stdout) as { file: string; report: ReleaseReport };
    assert.equal(answer.file, file);
    assert.equal(answer.report.outcome, 'promoted');
    const html = await readFile(file, 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.equal((html.match(/<svg class="chart"/g) ?? []).length, 3);
  });
});
