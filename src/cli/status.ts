import { releaseStatusQuery } from '../workflows/definitions.js';
import type { ReleaseStatus } from '../release/stages.js';
import { BatchId, CanaryWeight, ModelDigest, ModelName, ModelVersion, ReleaseStage, Verdict } from '../search-attributes.js';
import { runUrl } from '../temporal-config.js';
import { connectClient } from './client.js';
import { CliError, printJson, say, seconds } from './output.js';

export async function statusCommand(releaseId: string, options: { json?: boolean }): Promise<void> {
  const { client, settings, close } = await connectClient();
  try {
    const handle = client.workflow.getHandle(releaseId);
    let description;
    try {
      description = await handle.describe();
    } catch (err) {
      throw new CliError(`no release ${releaseId}: ${(err as Error).message}`);
    }
    const sa = description.typedSearchAttributes;
    const attributes = {
      ModelName: sa.get(ModelName),
      ModelVersion: sa.get(ModelVersion),
      ModelDigest: sa.get(ModelDigest),
      ReleaseStage: sa.get(ReleaseStage),
      Verdict: sa.get(Verdict),
      CanaryWeight: sa.get(CanaryWeight),
      BatchId: sa.get(BatchId),
    };
    // The query needs a worker; without one the search attributes still say where it is.
    let status: ReleaseStatus | undefined;
    try {
      status = await handle.query(releaseStatusQuery);
    } catch {
      status = undefined;
    }
    const url = runUrl(settings, releaseId, description.runId);
    if (options.json) return printJson({ releaseId, runId: description.runId, workflowStatus: description.status.name, attributes, status, url });

    say(`release ${releaseId}  (${description.status.name})`);
    say(`  model   ${attributes.ModelName ?? '?'}@${attributes.ModelVersion ?? '?'}`);
    say(`  stage   ${attributes.ReleaseStage ?? '?'}${attributes.Verdict ? `  (verdict ${attributes.Verdict})` : ''}`);
    if (attributes.ModelDigest) say(`  digest  ${attributes.ModelDigest}`);
    if (attributes.CanaryWeight !== undefined) say(`  canary  ${attributes.CanaryWeight}% of traffic`);
    if (attributes.BatchId) say(`  batch   ${attributes.BatchId}`);
    if (status) {
      for (const { name, state } of status.stages) {
        const line =
          state.status === 'succeeded'
            ? `${seconds(state.startedAt, state.finishedAt)}  ${Object.entries(state.summary).map(([k, v]) => `${k}=${v}`).join('  ')}`
            : state.status === 'failed'
              ? `${state.error.type}: ${state.error.message}`
              : state.status === 'skipped'
                ? state.reason
                : '';
        say(`  ${state.status.padEnd(9)} ${name.padEnd(7)} ${line}`);
      }
    } else {
      say('  (stage details need a running worker; showing search attributes only)');
    }
    say(`  Web UI  ${url}`);
  } finally {
    await close();
  }
}
