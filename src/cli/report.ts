import { resolve } from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import { buildReleaseReport } from '../report/release-report.js';
import { renderReportHtml } from '../report/report-html.js';
import { connectClient } from './client.js';
import { decodeEncryptedPayloads } from '../codec/history.js';
import { CliError, printJson, say } from './output.js';

/** `modelship report <release-id> [-o file.html]`: the release's history as one self-contained HTML page. */
export async function reportCommand(releaseId: string, options: { output?: string; json?: boolean }): Promise<void> {
  const file = resolve(options.output ?? `${releaseId}.html`);
  const { client, codec, close } = await connectClient();
  let history;
  try {
    history = await client.workflow.getHandle(releaseId).fetchHistory();
  } catch (err) {
    throw new CliError(`no history for release ${releaseId}: ${(err as Error).message} (see 'modelship list' for recent releases)`);
  } finally {
    await close();
  }
  // Outside the try above: a missing codec key is its own typed error, not "no history".
  const report = buildReleaseReport(await decodeEncryptedPayloads(history, codec), releaseId);
  try {
    await writeFileAtomic(file, renderReportHtml(report));
  } catch (err) {
    throw new CliError(`cannot write the report to ${file}: ${(err as Error).message}`);
  }
  if (options.json) return printJson({ file, report });
  say(`report of ${releaseId} (${report.outcome}) written to ${file}`);
  say(`  ${report.stages.filter((s) => s.state === 'succeeded').length} of ${report.stages.length} stages succeeded, ${report.canary?.analyses.length ?? 0} canary analyses, ${report.decisions.length} decisions`);
}
