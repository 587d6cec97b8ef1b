import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ReleaseStatus } from './release/stages.js';
import type { BatchStatus } from './batch/types.js';

/** Where a release is: every stage with its state and figures. */
export const releaseStatusQuery = defineQuery<ReleaseStatus>('releaseStatus');

export const RELEASE_WORKFLOW_TYPE = 'ReleaseWorkflow';

/** Operator controls during the canary (Temporal updates: validated before they are accepted). */
export const approveUpdate = defineUpdate<string, []>('approve');
export const promoteUpdate = defineUpdate<string, [{ full?: boolean }]>('promote');
export const abortUpdate = defineUpdate<string, [{ reason?: string }]>('abort');

export const BATCH_WORKFLOW_TYPE = 'BatchRolloutWorkflow';

/** A batch rollout's progress: every entry with its outcome, the totals (across continue-as-new), the halt. */
export const batchStatusQuery = defineQuery<BatchStatus>('batchStatus');

/** Halt a batch: no further child starts; running children are aborted or let finish (the rollout's halt.onHalt). */
export const haltBatchUpdate = defineUpdate<string, [{ reason?: string }]>('halt');
