import { ChildWorkflowFailure, log, startChild } from '@temporalio/workflow';
import { TemporalFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { ExistingRelease } from '../activities/release-control.js';
import { releaseStartOptions } from '../release/start-metadata.js';
import { releaseIdFor } from '../release/ids.js';
import { outcomeOfError } from '../metrics/release-outcome.js';
import { releaseRequestOf } from '../batch/release-request.js';
import type { BatchLedger } from '../batch/ledger.js';
import type { EntryRecord, Rollout } from '../batch/types.js';
import { BATCH_ACTIVITY_OPTIONS } from './activity-options.js';
import { activitiesWithSummary, batchTimeline } from './timeline.js';
import { ReleaseWorkflow } from './release.js';

const MAX_REASON_CHARS = 300;

/**
 * The batch's child releases: starts one per entry (workflow id releaseIdFor(name, version), so
 * a version is never released twice), adopts one that already exists, and aborts the running
 * ones when the batch halts. Outcomes go to the ledger; nothing here throws for a failed release.
 *
 * - Reuse policy REJECT_DUPLICATE (ALLOW_DUPLICATE_FAILED_ONLY with `rerunFailed`): a version
 *   with an earlier release makes startChild fail with WorkflowExecutionAlreadyStartedError;
 *   the batch then looks the release up: a closed one is `skipped` (with how it ended), a running
 *   one (another run of this batch, another batch, the CLI) is waited for and counted with its
 *   outcome, marked `existing`. Such releases are never aborted by this batch.
 * - Parent close policy ABANDON and cancellation type ABANDON: a release is a self-contained,
 *   self-judging unit; terminating or cancelling it mid-canary would leave a canary deployed.
 *   A batch that is cancelled, terminated or continued-as-new leaves its releases running to
 *   their own end; stopping them is the halt's job, through each release's `abort` update.
 */
export class BatchChildren {
  /** Children this run started that are still running, by entry index. */
  private readonly running = new Map<number, string>();
  private readonly aborting = new Set<string>();
  private readonly aborts: Promise<void>[] = [];
  private abortReason: string | undefined;

  constructor(
    private readonly batchId: string,
    private readonly rollout: Rollout,
    private readonly ledger: BatchLedger,
    private readonly changed: () => void,
  ) {}

  /** Releases entry `index` (or adopts its existing release) and records how it ended. */
  async release(index: number): Promise<void> {
    const entry = this.rollout.entries[index]!;
    const request = releaseRequestOf(this.rollout, entry, this.batchId);
    const releaseId = releaseIdFor(entry.name, entry.version);
    this.set(index, { outcome: 'running' });
    let child;
    try {
      child = await startChild(ReleaseWorkflow, {
        ...releaseStartOptions(request),
        workflowIdReusePolicy: this.rollout.rerunFailed ? 'ALLOW_DUPLICATE_FAILED_ONLY' : 'REJECT_DUPLICATE',
        parentClosePolicy: 'ABANDON',
        cancellationType: 'ABANDON',
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return this.existing(index, releaseId);
      return this.set(index, { outcome: 'failed', reason: clip(`could not start ${releaseId}: ${messageOf(err)}`) });
    }
    this.running.set(index, releaseId);
    if (this.abortReason !== undefined) this.abort(releaseId, this.abortReason);
    try {
      const result = await child.result();
      this.set(index, { outcome: result.canary ? 'promoted' : 'released', ...(result.reference ? { reference: result.reference } : {}) });
    } catch (err) {
      this.set(index, recordOfFailure(err));
    } finally {
      this.running.delete(index);
    }
  }

  /** The halt in abort mode: every running child this run started, and any it starts from now on. */
  abortRunning(reason: string): void {
    this.abortReason = reason;
    for (const releaseId of this.running.values()) this.abort(releaseId, reason);
  }

  /** Resolves when every abort asked for has been answered. */
  async abortsSettled(): Promise<void> {
    await Promise.all(this.aborts);
  }

  private abort(releaseId: string, reason: string): void {
    if (this.aborting.has(releaseId)) return;
    this.aborting.add(releaseId);
    const asked = activitiesWithSummary(BATCH_ACTIVITY_OPTIONS.abort, batchTimeline.abort(releaseId))
      .abortRelease({ releaseId, reason })
      .then(
        (answer) => log.info('abort of a child release answered', { releaseId, aborted: answer.aborted, message: answer.message }),
        // The release still runs to its own end; its outcome is recorded all the same.
        (err: unknown) => log.warn('could not abort a child release', { releaseId, error: messageOf(err) }),
      );
    this.aborts.push(asked);
  }

  private async existing(index: number, releaseId: string): Promise<void> {
    let found: ExistingRelease;
    try {
      found = await activitiesWithSummary(BATCH_ACTIVITY_OPTIONS.inspect, batchTimeline.inspect(releaseId)).inspectRelease({ releaseId });
    } catch (err) {
      return this.set(index, { outcome: 'failed', existing: true, reason: clip(`${releaseId} already exists but could not be looked up: ${messageOf(err)}`) });
    }
    const by = found.batchId ? `batch ${found.batchId}` : 'outside a batch';
    if (found.status === 'NOT_FOUND') {
      return this.set(index, { outcome: 'failed', reason: clip(`${releaseId} could not be started (its id is taken) nor found; start the batch again`) });
    }
    if (found.status !== 'RUNNING') {
      const how = found.stage ?? found.status.toLowerCase();
      return this.set(index, {
        outcome: 'skipped',
        existing: true,
        reason: clip(
          found.status === 'COMPLETED'
            ? `already released (${how}, ${by}): a version is released once`
            : `an earlier release ended ${how} (${by}); release a new version, or set rerunFailed: true to release this one again${found.failure ? `. It failed with: ${found.failure}` : ''}`,
        ),
      });
    }
    this.set(index, { outcome: 'running', existing: true, reason: `already running (${by}): waiting for it` });
    try {
      const done = await activitiesWithSummary(BATCH_ACTIVITY_OPTIONS.await, batchTimeline.await(releaseId, by)).awaitRelease({ releaseId });
      this.set(index, { ...recordOfEnded(done), existing: true });
    } catch (err) {
      this.set(index, { outcome: 'failed', existing: true, reason: clip(`lost track of ${releaseId} (${by}): ${messageOf(err)}`) });
    }
  }

  private set(index: number, record: EntryRecord): void {
    this.ledger.set(index, record);
    this.changed();
  }
}

/** A child that failed: rolled back when its canary was (CanaryRolledBack in the cause chain). */
function recordOfFailure(err: unknown): EntryRecord {
  const outcome = outcomeOfError(err) === 'rolled_back' ? 'rolled_back' : 'failed';
  const reason = err instanceof ChildWorkflowFailure && err.cause ? err.cause.message : messageOf(err);
  return { outcome, reason: clip(reason) };
}

/** An adopted release that has ended, from its search attributes. */
function recordOfEnded(found: ExistingRelease): EntryRecord {
  const by = found.batchId ? `batch ${found.batchId}` : 'outside a batch';
  if (found.status === 'COMPLETED') return { outcome: found.stage === 'promoted' ? 'promoted' : 'released', reason: `started by ${by}; this batch waited for it` };
  const outcome = found.stage === 'rolled_back' ? 'rolled_back' : 'failed';
  return { outcome, reason: clip(`started by ${by}, ended ${found.stage ?? found.status.toLowerCase()}${found.failure ? `: ${found.failure}` : ''}`) };
}

function messageOf(err: unknown): string {
  if (err instanceof TemporalFailure && err.cause) return `${err.message}: ${err.cause.message}`;
  return err instanceof Error ? err.message : String(err);
}

function clip(text: string): string {
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS - 1)}…` : text;
}
