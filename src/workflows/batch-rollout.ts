import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  continueAsNew,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { batchIdFromWorkflowId } from '../batch/ids.js';
import { BatchLedger, waveOf } from '../batch/ledger.js';
import { renderBatchDetails } from '../batch/current-details.js';
import type { BatchInput, BatchState, BatchStatus, HaltInfo } from '../batch/types.js';
import { assertSafeName } from '../release/ids.js';
import { BatchId, BatchStage } from '../search-attributes.js';
import { batchStatusQuery, haltBatchUpdate } from '../workflow-definitions.js';
import { BatchChildren } from './batch-children.js';
import { batchTimeline, timer } from './timeline.js';

// Pinned (the versioned worker's default, src/release-worker.ts) like its child releases, which
// start on the parent's version: a batch and every release in it run one version's code, and
// each continue-as-new run inherits the version. Moving at wave boundaries (continueAsNew's
// initialVersioningBehavior 'AUTO_UPGRADE') is possible but experimental in SDK 1.24 and would
// make BatchInput a cross-version contract.

/**
 * Releases the models of a rollout as child ReleaseWorkflows, in waves: at most `concurrency`
 * at once within a wave, a durable pause between waves, a global halt when failures and
 * rollbacks pass the threshold (or on the `halt` update, or when the batch is cancelled), and
 * continue-as-new every `continueAsNewEveryWaves` waves carrying the outcomes forward, so the
 * totals always cover the whole batch. The batch id comes from the workflow id, so every
 * scheduled run (whose id the schedule suffixes with the time) is a batch of its own.
 */
export async function BatchRolloutWorkflow(input: BatchInput): Promise<BatchStatus> {
  const info = workflowInfo();
  const { rollout, progress } = input;
  const batchId = batchIdFromWorkflowId(info.workflowId);
  try {
    assertSafeName('batch id', batchId);
    for (const key of ['waveSize', 'concurrency', 'continueAsNewEveryWaves'] as const) {
      if (!(Number.isSafeInteger(rollout[key]) && rollout[key] >= 1)) throw new Error(`rollout.${key} must be a whole number >= 1, got ${rollout[key]}`);
    }
    if (!Array.isArray(rollout.entries)) throw new Error('rollout.entries must be a list');
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`invalid batch: ${(err as Error).message}`, 'InvalidBatchRequest');
  }

  const ledger = new BatchLedger(rollout, progress?.records);
  const run = (progress?.run ?? 0) + 1;
  const startedAt = progress?.startedAt ?? new Date().toISOString();
  let cursor = progress?.cursor ?? 0;
  let wave = cursor > 0 ? waveOf(rollout, cursor - 1) : 0;
  let halted: HaltInfo | undefined;
  let state: BatchState = 'running';
  let finishedAt: string | undefined;
  let cancelled = false;

  const snapshot = (): BatchStatus => ({
    batchId,
    workflowId: info.workflowId,
    name: rollout.name,
    state,
    wave,
    waves: ledger.waves,
    run,
    startedAt,
    ...(finishedAt ? { finishedAt } : {}),
    totals: ledger.totals(),
    ...(halted ? { halted } : {}),
    entries: ledger.results(),
  });
  const show = () => setCurrentDetails(renderBatchDetails(snapshot()));
  const enter = (next: BatchState) => {
    if (next !== state) upsertSearchAttributes([{ key: BatchStage, value: next }]);
    state = next;
    show();
  };

  const children = new BatchChildren(batchId, rollout, ledger, () => {
    show();
    const reason = halted ? undefined : ledger.haltReason();
    if (reason) halt(reason);
  });
  function halt(reason: string): void {
    if (halted) return;
    halted = { reason, at: new Date().toISOString(), mode: rollout.halt.onHalt };
    if (rollout.halt.onHalt === 'abort') children.abortRunning(`batch ${batchId} halted: ${reason}`);
    enter('halting');
  }

  setHandler(batchStatusQuery, snapshot, { description: 'Every entry of this batch with its outcome and reason, the totals (including earlier runs of a continue-as-new chain), the wave and the halt' });
  setHandler(
    haltBatchUpdate,
    ({ reason }: { reason?: string }) => {
      halt(reason || 'halted by an operator');
      return `halting batch ${batchId}: no further releases start; running ones are ${rollout.halt.onHalt === 'abort' ? 'aborted' : 'let finish'}`;
    },
    {
      description: 'Halt the batch: no further release starts, the rest are skipped; running releases are aborted or let finish (the rollout\'s halt.onHalt)',
      validator: (_options: { reason?: string }) => {
        if (halted || finishedAt) throw new Error(`batch ${batchId} is already ${state}`);
      },
    },
  );
  // A cancelled batch winds down like a halt (children are never cancelled mid-canary): the body
  // runs non-cancellable and the request only flips the switch.
  CancellationScope.current().cancelRequested.catch(() => {
    cancelled = true;
    halt('the batch was cancelled');
  });

  // Set at start by the CLI; a schedule cannot know the id (nor a continued run keep it): set here too.
  upsertSearchAttributes([
    { key: BatchId, value: batchId },
    { key: BatchStage, value: state },
  ]);
  show();

  const outcome = await CancellationScope.nonCancellable(async () => {
    let wavesThisRun = 0;
    while (cursor < ledger.size && !halted) {
      const end = Math.min(cursor + rollout.waveSize, ledger.size);
      wave = waveOf(rollout, cursor);
      enter('running');
      await runWave(cursor, end);
      cursor = end;
      wavesThisRun++;
      if (cursor >= ledger.size || halted) break;
      if (rollout.pauseBetweenWavesSeconds > 0) {
        enter('pausing');
        await condition(() => halted !== undefined, rollout.pauseBetweenWavesSeconds * 1000, timer(batchTimeline.pause(rollout.pauseBetweenWavesSeconds, wave + 1, ledger.waves)));
        if (halted) break;
      }
      if (wavesThisRun >= rollout.continueAsNewEveryWaves || workflowInfo().continueAsNewSuggested) return 'continue' as const;
    }
    return 'done' as const;
  });
  if (outcome === 'continue') {
    // Only between waves and never after a halt: no child of this run is running, nothing is pending but the rest.
    await continueAsNew<typeof BatchRolloutWorkflow>({ rollout, progress: { cursor, records: ledger.carried(cursor), run, startedAt } });
  }

  for (let i = 0; i < ledger.size; i++) {
    if (ledger.record(i).outcome === 'pending') ledger.set(i, { outcome: 'skipped', reason: `batch halted before it started: ${halted?.reason ?? 'unknown'}` });
  }
  finishedAt = new Date().toISOString();
  enter(cancelled ? 'cancelled' : halted ? 'halted' : 'completed');
  if (cancelled) throw new CancelledFailure(`batch ${batchId} was cancelled: ${ledger.size - ledger.totals().skipped} of ${ledger.size} entries ran; the batchStatus query has the summary`);
  return snapshot();

  /** One wave: entries [start, end), at most `concurrency` at once; none starts after a halt. */
  async function runWave(start: number, end: number): Promise<void> {
    let inFlight = 0;
    for (let i = start; i < end; i++) {
      await condition(() => inFlight < rollout.concurrency || halted !== undefined);
      if (halted) break;
      inFlight++;
      void children.release(i).finally(() => inFlight--);
    }
    await condition(() => inFlight === 0);
    await children.abortsSettled();
  }
}
