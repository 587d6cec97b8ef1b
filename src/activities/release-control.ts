/**
 * What a batch needs from other releases that workflow code cannot do itself: look one up, wait
 * for one it did not start, and abort one through its `abort` update (workflows can signal or
 * cancel other workflows but not send updates). They use the worker's own Temporal client.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { abortUpdate } from '../workflow-definitions.js';
import { BatchId, ReleaseStage, Verdict } from '../search-attributes.js';
import { errorMessage } from '../errors/index.js';

export interface ExistingRelease {
  readonly releaseId: string;
  /** RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, ... or NOT_FOUND. */
  readonly status: string;
  readonly runId?: string;
  /** The release's ReleaseStage / Verdict / BatchId search attributes. */
  readonly stage?: string;
  readonly verdict?: string;
  readonly batchId?: string;
  /** For a release that did not succeed: its failure message. */
  readonly failure?: string;
}

export interface AbortReleaseResult {
  readonly releaseId: string;
  /** true: the release accepted the abort (its canary rolls back); false: it finished first. */
  readonly aborted: boolean;
  readonly message: string;
}

const POLL_SECONDS = 2;

export async function inspectRelease(input: { releaseId: string }): Promise<ExistingRelease> {
  return describe(Context.current().client.workflow.getHandle(input.releaseId));
}

/** Waits until the release closes (polling, heartbeating), then describes how it ended. */
export async function awaitRelease(input: { releaseId: string }): Promise<ExistingRelease> {
  const context = Context.current();
  const handle = context.client.workflow.getHandle(input.releaseId);
  for (;;) {
    const found = await describe(handle);
    if (found.status !== 'RUNNING') return found;
    context.heartbeat({ status: found.status, stage: found.stage });
    await context.sleep(POLL_SECONDS * 1000);
  }
}

/**
 * Asks the release to abort until it accepts or finishes. Its validator refuses while the
 * release has no canary running yet (export … smoke): then this asks again, so a release that
 * reaches its canary is aborted there; one without a canary (canary: false, a first version)
 * simply finishes.
 */
export async function abortRelease(input: { releaseId: string; reason: string }): Promise<AbortReleaseResult> {
  const context = Context.current();
  const handle = context.client.workflow.getHandle(input.releaseId);
  let refusal = '';
  for (;;) {
    try {
      const answer = await handle.executeUpdate(abortUpdate, { args: [{ reason: input.reason }] });
      return { releaseId: input.releaseId, aborted: true, message: answer };
    } catch (err) {
      refusal = err instanceof WorkflowUpdateFailedError ? (err.cause?.message ?? err.message) : errorMessage(err);
      const found = await describe(handle);
      if (found.status !== 'RUNNING') {
        return { releaseId: input.releaseId, aborted: false, message: `finished (${found.stage ?? found.status}) before it could be aborted: ${refusal}` };
      }
      // Anything but the validator's refusal (the server unreachable, ...) is the activity's to retry.
      if (!(err instanceof WorkflowUpdateFailedError)) throw err;
    }
    context.heartbeat({ refusal });
    await context.sleep(POLL_SECONDS * 1000);
  }
}

async function describe(handle: WorkflowHandle): Promise<ExistingRelease> {
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { releaseId: handle.workflowId, status: 'NOT_FOUND' };
    throw err;
  }
  const sa = description.typedSearchAttributes;
  const status = description.status.name;
  let failure: string | undefined;
  if (status !== 'RUNNING' && status !== 'COMPLETED') {
    failure = await handle.result().then(
      () => undefined,
      (err: unknown) => {
        const cause = (err as { cause?: unknown }).cause;
        return errorMessage(cause ?? err);
      },
    );
  }
  const stage = sa.get(ReleaseStage);
  const verdict = sa.get(Verdict);
  const batchId = sa.get(BatchId);
  return {
    releaseId: handle.workflowId,
    status,
    runId: description.runId,
    ...(stage !== undefined ? { stage } : {}),
    ...(verdict !== undefined ? { verdict } : {}),
    ...(batchId !== undefined ? { batchId } : {}),
    ...(failure !== undefined ? { failure } : {}),
  };
}
