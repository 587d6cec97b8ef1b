import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { releaseStatusQuery } from '../workflow-definitions.js';
import type { ReleaseStatus } from '../release/stages.js';
import { BatchId, CanaryWeight, ModelDigest, ModelName, ModelReference, ModelVersion, ReleaseStage, Verdict } from '../search-attributes.js';
import { runUrl } from '../temporal-config.js';
import { buildReleaseReport, type ReportStage } from '../report/release-report.js';
import { connectClient } from './client.js';
import { decodeEncryptedPayloads } from '../codec/history.js';
import { CliError, printJson, say } from './output.js';
import { canaryLine, canaryProgressOf } from './progress.js';
import { fmtElapsed, textTable } from './text-table.js';

/** A live query needs a worker; without one the history still says everything that happened. */
const QUERY_TIMEOUT_MS = 3_000;

export async function statusCommand(releaseId: string, options: { json?: boolean }): Promise<void> {
  const { client, settings, codec, close } = await connectClient();
  try {
    const handle = client.workflow.getHandle(releaseId);
    let description;
    try {
      description = await handle.describe();
    } catch (err) {
      throw new CliError(`no release ${releaseId}: ${(err as Error).message} (see 'modelship list' for recent releases)`);
    }
    const sa = description.typedSearchAttributes;
    const attributes = {
      ModelName: sa.get(ModelName),
      ModelVersion: sa.get(ModelVersion),
      ModelDigest: sa.get(ModelDigest),
      ModelReference: sa.get(ModelReference),
      ReleaseStage: sa.get(ReleaseStage),
      Verdict: sa.get(Verdict),
      CanaryWeight: sa.get(CanaryWeight),
      BatchId: sa.get(BatchId),
    };
    const report = buildReleaseReport(await decodeEncryptedPayloads(await client.workflow.getHandle(releaseId, description.runId).fetchHistory(), codec), releaseId);
    const running = description.status.name === 'RUNNING';
    const status = running ? await liveStatus(handle) : undefined;
    const url = runUrl(settings, releaseId, description.runId);
    const stages = report.stages.map(stageRow);
    if (options.json) {
      return printJson({
        releaseId,
        runId: description.runId,
        workflowStatus: description.status.name,
        attributes,
        ...(report.traceId ? { traceId: report.traceId } : {}),
        startedAt: report.startedAt,
        closedAt: report.closedAt,
        durationMs: report.durationMs,
        stages,
        decisions: report.decisions,
        ...(status ? { status } : {}),
        url,
      });
    }

    say(`release ${releaseId}  (${description.status.name})`);
    say(`  model     ${attributes.ModelName ?? '?'}@${attributes.ModelVersion ?? '?'}`);
    say(`  stage     ${attributes.ReleaseStage ?? '?'}${attributes.Verdict ? `  (verdict ${attributes.Verdict})` : ''}`);
    if (attributes.ModelDigest) say(`  digest    ${attributes.ModelDigest}`);
    if (attributes.ModelReference) say(`  reference ${attributes.ModelReference}`);
    if (attributes.CanaryWeight !== undefined) say(`  canary    ${attributes.CanaryWeight}% of traffic`);
    if (attributes.BatchId) say(`  batch     ${attributes.BatchId}`);
    if (report.traceId) say(`  trace     ${report.traceId}`);
    say(`  started   ${report.startedAt ?? '?'}${report.closedAt ? `, ended ${report.closedAt} after ${fmtElapsed(report.durationMs)}` : ''}`);
    if (report.outcomeMessage) say(`  why       ${report.outcomeMessage}`);
    say('');
    const table = textTable(
      ['STAGE', 'STATE', 'STARTED', 'TOOK', 'KEY FIGURES'],
      stages.map((s) => [s.stage, s.state, s.startedAt ? s.startedAt.slice(11, 19) : '', fmtElapsed(s.durationMs), s.keyFigures]),
      { alignRight: [3] },
    );
    for (const line of table) say(`  ${line}`);
    const canary = status && canaryProgressOf(status);
    if (canary) say(`\n  canary    ${canary.model}: ${canaryLine(canary)}`);
    const last = report.decisions.at(-1);
    if (last) say(`${canary ? '' : '\n'}  decided   ${last.kind}${last.verdict ? ` (${last.verdict})` : ''} at ${last.weight}%: ${last.summary}  [${report.decisions.length} decision(s): modelship report ${releaseId}]`);
    if (running && !status) say('  (no worker answered the status query: stages from history only)');
    say(`\n  Web UI    ${url}`);
  } finally {
    await close();
  }
}

export interface StageRow {
  readonly stage: string;
  readonly state: string;
  readonly startedAt?: string;
  readonly durationMs?: number;
  readonly attempts: number;
  readonly keyFigures: string;
  readonly figures: ReportStage['figures'];
  readonly error?: ReportStage['error'];
}

function stageRow(s: ReportStage): StageRow {
  // Digests shortened for the table; --json and the report keep them whole.
  const shortHex = (v: string | number) => String(v).replace(/\b([0-9a-f]{12})[0-9a-f]{52}\b/g, '$1…');
  const keyFigures = s.error ? `${s.error.type}: ${s.error.message}` : Object.entries(s.figures).filter(([k]) => k !== 'bundleDir' && k !== 'reference').map(([k, v]) => `${k}=${shortHex(v)}`).join('  ');
  return {
    stage: s.name,
    state: s.state,
    ...(s.startedAt ? { startedAt: s.startedAt } : {}),
    ...(s.durationMs !== undefined ? { durationMs: s.durationMs } : {}),
    attempts: s.attempts,
    keyFigures,
    figures: s.figures,
    ...(s.error ? { error: s.error } : {}),
  };
}

async function liveStatus(handle: WorkflowHandle): Promise<ReleaseStatus | undefined> {
  const timeout = new AbortController();
  try {
    return await Promise.race([
      handle.query(releaseStatusQuery).catch(() => undefined),
      sleep(QUERY_TIMEOUT_MS, undefined, { signal: timeout.signal }).catch(() => undefined),
    ]);
  } finally {
    timeout.abort();
  }
}

