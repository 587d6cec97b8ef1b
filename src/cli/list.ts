import { assertSafeName } from '../release/ids.js';
import { RELEASE_STAGES, RELEASE_VERDICTS, type ReleaseStageValue } from '../release/stages.js';
import { CanaryWeight, ModelName, ModelVersion, ReleaseStage, Verdict } from '../search-attributes.js';
import { RELEASE_WORKFLOW_TYPE } from '../workflow-definitions.js';
import { runUrl } from '../temporal-config.js';
import { connectClient } from './client.js';
import { CliError, describeError, printJson, say } from './output.js';
import { missingSearchAttribute } from '../search-attribute-check.js';
import { fmtElapsed, textTable } from './text-table.js';

export interface ListOptions {
  model?: string;
  stage?: string;
  verdict?: string;
  limit?: string;
  json?: boolean;
}

/** Every value ReleaseStage takes (ReleaseStageValue). */
export const RELEASE_STAGE_VALUES: readonly ReleaseStageValue[] = [...RELEASE_STAGES, 'paused', 'released', 'promoted', 'rolled_back', 'failed'];

/** A visibility query string literal; values are checked safe names or fixed words, so no quote can occur. */
function literal(value: string): string {
  if (/['"\\]/.test(value)) throw new CliError(`cannot filter on ${JSON.stringify(value)}: quotes and backslashes are not allowed`, 2);
  return `'${value}'`;
}

/** The visibility query for the filters: releases only, newest first (the server's order). */
export function listQuery(options: Pick<ListOptions, 'model' | 'stage' | 'verdict'>): string {
  const clauses = [`WorkflowType = ${literal(RELEASE_WORKFLOW_TYPE)}`];
  if (options.model !== undefined) clauses.push(`ModelName = ${literal(options.model)}`);
  if (options.stage !== undefined) clauses.push(`ReleaseStage = ${literal(options.stage)}`);
  if (options.verdict !== undefined) clauses.push(`Verdict = ${literal(options.verdict)}`);
  return clauses.join(' AND ');
}

function checkOneOf(flag: string, value: string | undefined, allowed: readonly string[]): void {
  if (value !== undefined && !allowed.includes(value)) throw new CliError(`${flag} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`, 2);
}

/** `modelship list`: recent releases through the visibility API, filtered by search attributes. */
export async function listCommand(options: ListOptions): Promise<void> {
  if (options.model !== undefined) {
    try {
      assertSafeName('name', options.model);
    } catch (err) {
      throw new CliError(`--model: ${(err as Error).message}`, 2);
    }
  }
  checkOneOf('--stage', options.stage, RELEASE_STAGE_VALUES);
  checkOneOf('--verdict', options.verdict, RELEASE_VERDICTS);
  const limit = Number(options.limit ?? '20');
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError(`--limit needs a whole number from 1 to 1000, got ${JSON.stringify(options.limit)}`, 2);
  const query = listQuery(options);

  const { client, settings, close } = await connectClient();
  const releases = [];
  try {
    try {
      for await (const w of client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
        const sa = w.typedSearchAttributes;
        releases.push({
          releaseId: w.workflowId,
          runId: w.runId,
          model: sa.get(ModelName) ?? null,
          version: sa.get(ModelVersion) ?? null,
          stage: sa.get(ReleaseStage) ?? null,
          verdict: sa.get(Verdict) ?? null,
          canaryWeight: sa.get(CanaryWeight) ?? null,
          workflowStatus: w.status.name,
          startedAt: w.startTime.toISOString(),
          closedAt: w.closeTime?.toISOString() ?? null,
          url: runUrl(settings, w.workflowId, w.runId),
        });
        if (releases.length >= limit) break;
      }
    } catch (err) {
      const missing = missingSearchAttribute(err, settings.namespace);
      if (missing) throw missing;
      throw new CliError(
        `cannot list releases (${query}): ${describeError(err)}\n` +
          `the search attributes in temporal/search-attributes.txt must be registered on the namespace: run 'modelship setup-namespace' (temporal/start.sh does it for the dev server)`,
      );
    }
  } finally {
    await close();
  }
  if (options.json) return printJson({ query, releases });
  if (!releases.length) return say(`no releases match ${query}`);
  const now = Date.now();
  const table = textTable(
    ['RELEASE', 'MODEL', 'VERSION', 'STAGE', 'VERDICT', 'CANARY', 'STARTED', 'TOOK', 'STATUS'],
    releases.map((r) => [
      r.releaseId,
      r.model ?? '',
      r.version ?? '',
      r.stage ?? '',
      r.verdict ?? '',
      r.canaryWeight === null ? '' : `${r.canaryWeight}%`,
      r.startedAt.replace('T', ' ').slice(0, 19),
      fmtElapsed((r.closedAt ? Date.parse(r.closedAt) : now) - Date.parse(r.startedAt)),
      r.workflowStatus,
    ]),
    { alignRight: [5, 7] },
  );
  for (const line of table) say(line);
}
