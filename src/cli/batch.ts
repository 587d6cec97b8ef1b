import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowUpdateFailedError, type Client, type ClientPlugin, type WorkflowExecutionDescription, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { readRolloutFile } from '../batch/rollout-file.js';
import { batchStartOptions } from '../batch/start-metadata.js';
import { BATCH_WORKFLOW_ID_PREFIX, batchIdFromWorkflowId, batchWorkflowId } from '../batch/ids.js';
import type { BatchStatus, EntryResult, Rollout } from '../batch/types.js';
import { assertSafeName } from '../release/ids.js';
import { modelSourcePath } from '../release/model-source.js';
import { BatchStage } from '../search-attributes.js';
import { BATCH_WORKFLOW_TYPE, batchStatusQuery, haltBatchUpdate } from '../workflow-definitions.js';
import { runUrl } from '../temporal-config.js';
import { connectClient } from './client.js';
import { resultThroughOutages } from './outage.js';
import { DEFAULT_SIGNING_KEY } from './defaults.js';
import { CliError, printJson, say, warn } from './output.js';
import { traceCommand } from '../tracing/cli-trace.js';
import { TRACE_ID_MEMO_KEY, withTraceMetadata } from '../tracing/trace-metadata.js';
import { missingSearchAttribute } from '../search-attribute-check.js';
import { RolloutFileError } from '../errors/index.js';

const FINAL: ReadonlySet<string> = new Set(['released', 'promoted', 'rolled_back', 'failed', 'skipped']);

/** Reads and validates a rollout file; problems exit 2 with every entry and field named. */
export async function loadRollout(file: string, options: { quiet?: boolean } = {}): Promise<Rollout> {
  let rollout: Rollout;
  try {
    rollout = await readRolloutFile(file, { defaultSigningKeyPath: DEFAULT_SIGNING_KEY, requestedBy: process.env.USER ?? 'unknown' });
  } catch (err) {
    if (err instanceof RolloutFileError) throw new CliError(err.message, 2);
    throw err;
  }
  // Paths are the worker's; here they can only be a hint (the worker may run elsewhere).
  if (!options.quiet) {
    rollout.entries.forEach((e, i) => {
      const path = modelSourcePath(e.source);
      if (!existsSync(path)) warn(`note: models[${i}] (${e.name}@${e.version}): ${path} does not exist here; the worker must see it`);
    });
  }
  return rollout;
}

/** `nightly` + now → `nightly-20250601-030000`. */
function defaultBatchId(rollout: Rollout): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return batchIdFromWorkflowId(`${rollout.name}-${stamp}`);
}

export async function batchStartCommand(file: string, options: { id?: string; wait?: boolean; json?: boolean }): Promise<void> {
  const rollout = await loadRollout(file, { quiet: options.json ?? false });
  const batchId = options.id ?? defaultBatchId(rollout);
  try {
    assertSafeName('batch id', batchId);
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  // The CLI span is the root of the batch's trace; its releases (child workflows) join it.
  await traceCommand('modelship batch start', { 'modelship.batch_id': batchId, 'modelship.wait': options.wait ?? false }, ({ plugins, traceId }) => startBatch(rollout, batchId, options, plugins, traceId));
}

async function startBatch(rollout: Rollout, batchId: string, options: { wait?: boolean; json?: boolean }, plugins: ClientPlugin[], traceId: string | undefined): Promise<void> {
  const { client, untraced, settings, close } = await connectClient(plugins);
  try {
    const start = withTraceMetadata(batchStartOptions(rollout, batchId), traceId);
    let handle: WorkflowHandleWithFirstExecutionRunId;
    try {
      handle = await client.workflow.start(BATCH_WORKFLOW_TYPE, { taskQueue: settings.taskQueue, ...start });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new CliError(`batch ${batchId} is already running (${start.workflowId}); see 'modelship batch status ${batchId}', or pick another --id`);
      throw missingSearchAttribute(err, settings.namespace) ?? err;
    }
    const url = runUrl(settings, start.workflowId);
    if (!options.wait) {
      if (options.json) return printJson({ batchId, workflowId: start.workflowId, runId: handle.firstExecutionRunId, url, ...(traceId ? { traceId } : {}) });
      say(`batch ${batchId} started: ${start.staticSummary}`);
      say(`  workflow ${start.workflowId} on task queue ${settings.taskQueue}`);
      say(`  follow it with 'modelship batch status ${batchId}'; Web UI ${url}`);
      if (traceId) say(`  trace ${traceId}`);
      return;
    }
    if (!options.json) say(`batch ${batchId} started: ${start.staticSummary}`);
    // Polled without spans (see ConnectedClient.untraced).
    const status = await follow(untraced, start.workflowId, !options.json);
    if (options.json) printJson({ ...status, url, ...(traceId ? { traceId } : {}) });
    else printSummary(status, url);
    const t = status.totals;
    if (status.state === 'cancelled' || status.state === 'halted' || t.failed + t.rolledBack > 0) {
      throw new CliError(`batch ${batchId} ${status.state}: ${t.failed} failed, ${t.rolledBack} rolled back, ${t.skipped} skipped${status.halted ? ` (halted: ${status.halted.reason})` : ''}`);
    }
  } finally {
    await close();
  }
}

export async function batchStatusCommand(id: string, options: { json?: boolean }): Promise<void> {
  const { client, settings, close } = await connectClient();
  try {
    const { handle, description } = await findBatch(client, id);
    const url = runUrl(settings, handle.workflowId);
    let status: BatchStatus | undefined;
    try {
      status = await handle.query(batchStatusQuery);
    } catch {
      status = undefined; // the query needs a worker; the search attributes still say where it is
    }
    const memoTrace = description.memo?.[TRACE_ID_MEMO_KEY];
    const traceId = typeof memoTrace === 'string' ? memoTrace : undefined;
    if (options.json) return printJson({ workflowId: handle.workflowId, runId: description.runId, workflowStatus: description.status.name, stage: description.typedSearchAttributes.get(BatchStage), status, url, ...(traceId ? { traceId } : {}) });
    if (!status) {
      say(`batch ${batchIdFromWorkflowId(handle.workflowId)}  (${description.status.name}, stage ${description.typedSearchAttributes.get(BatchStage) ?? '?'})`);
      if (traceId) say(`  trace   ${traceId}`);
      say('  (entries need a running worker to answer the batchStatus query)');
      say(`  Web UI  ${url}`);
      return;
    }
    say(`batch ${status.batchId}  (${description.status.name})`);
    if (traceId) say(`  trace ${traceId} (the batch and its releases)`);
    for (const entry of status.entries) say(entryLine(entry));
    printSummary(status, url);
  } finally {
    await close();
  }
}

export async function batchHaltCommand(id: string, options: { reason?: string }): Promise<void> {
  const { client, close } = await connectClient();
  try {
    const { handle } = await findBatch(client, id);
    try {
      say(await handle.executeUpdate(haltBatchUpdate, { args: [{ ...(options.reason ? { reason: options.reason } : {}) }] }));
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new CliError(`halt refused: ${err.cause?.message ?? err.message}`);
      throw new CliError(`halt failed for ${handle.workflowId}: ${(err as Error).message}`);
    }
  } finally {
    await close();
  }
}

/**
 * A batch by its batch id or workflow id. Scheduled runs have ids the schedule made
 * (`batch-<schedule>-<time>`), so the BatchId search attribute is the last resort.
 */
async function findBatch(client: Client, id: string): Promise<{ handle: WorkflowHandle; description: WorkflowExecutionDescription }> {
  const candidates = id.startsWith(BATCH_WORKFLOW_ID_PREFIX) ? [id, batchWorkflowId(id)] : [batchWorkflowId(id)];
  for (const workflowId of candidates) {
    const handle = client.workflow.getHandle(workflowId);
    const description = await handle.describe().catch(() => undefined);
    if (description?.type === BATCH_WORKFLOW_TYPE) return { handle, description };
  }
  const escaped = id.replace(/["\\]/g, '');
  for await (const execution of client.workflow.list({ query: `WorkflowType="${BATCH_WORKFLOW_TYPE}" AND BatchId="${escaped}"`, pageSize: 1 })) {
    const handle = client.workflow.getHandle(execution.workflowId);
    return { handle, description: await handle.describe() };
  }
  throw new CliError(`no batch ${id} (tried workflow ${candidates.join(', ')} and BatchId="${escaped}")`);
}

/** Prints each entry as it ends, then returns the final status (across continue-as-new). */
async function follow(client: Client, workflowId: string, print: boolean): Promise<BatchStatus> {
  const handle = client.workflow.getHandle(workflowId);
  const shown = new Set<number>();
  let haltShown = false;
  let settled = false;
  let ended: unknown;
  // Through a restart of the Temporal server or its database: the batch goes on meanwhile.
  const result = resultThroughOutages(() => handle.result(), {
    onOutage: (err) => {
      if (print) warn(`  (lost the Temporal server: ${(err as Error).message}; reconnecting)`);
    },
  }).then(
    (value) => value as BatchStatus,
    (err: unknown) => {
      ended = err;
      return undefined;
    },
  );
  void result.finally(() => (settled = true));
  const showNew = (status: BatchStatus) => {
    for (const entry of status.entries) {
      if (!FINAL.has(entry.outcome) || shown.has(entry.index)) continue;
      shown.add(entry.index);
      if (print) say(entryLine(entry));
    }
    if (print && status.halted && !haltShown) say(`  HALT  ${status.halted.reason} (${status.halted.mode})`);
    haltShown ||= Boolean(status.halted);
  };
  while (!settled) {
    const status = await handle.query(batchStatusQuery).catch(() => undefined);
    if (status) showNew(status);
    await Promise.race([result, sleep(1000)]);
  }
  const final = (await result) ?? (await handle.query(batchStatusQuery).catch(() => undefined));
  if (!final) {
    if (ended instanceof WorkflowFailedError && !(ended.cause instanceof CancelledFailure)) throw new CliError(`batch failed: ${ended.cause?.message ?? ended.message}`);
    throw new CliError(`batch ${workflowId} ended without a summary: ${(ended as Error | undefined)?.message ?? 'unknown'}`);
  }
  showNew(final);
  return final;
}

function entryLine(e: EntryResult): string {
  return `  ${e.outcome.padEnd(11)} ${e.releaseId}  wave ${e.wave}${e.existing ? ' (existed)' : ''}${e.reason ? `  ${e.reason}` : ''}${e.reference ? `  ${e.reference}` : ''}`;
}

function printSummary(status: BatchStatus, url: string): void {
  const t = status.totals;
  say('');
  say(`batch ${status.batchId} ${status.state}: ${t.entries} models in ${status.waves} waves${status.run > 1 ? ` (in ${status.run} runs: continued as new)` : ''}`);
  say(`  released ${t.released}  promoted ${t.promoted}  rolled back ${t.rolledBack}  failed ${t.failed}  skipped ${t.skipped}  running ${t.running}  pending ${t.pending}  (already existed ${t.existing})`);
  if (status.halted) say(`  halted at ${status.halted.at} (${status.halted.mode}): ${status.halted.reason}`);
  say(`  Web UI ${url}`);
}
