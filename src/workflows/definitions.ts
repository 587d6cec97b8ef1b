import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ReleaseStatus } from '../release/stages.js';

/** Where a release is: every stage with its state and figures. */
export const releaseStatusQuery = defineQuery<ReleaseStatus>('releaseStatus');

export const RELEASE_WORKFLOW_TYPE = 'ReleaseWorkflow';

/** Operator controls during the canary (Temporal updates: validated before they are accepted). */
export const approveUpdate = defineUpdate<string, []>('approve');
export const promoteUpdate = defineUpdate<string, [{ full?: boolean }]>('promote');
export const abortUpdate = defineUpdate<string, [{ reason?: string }]>('abort');
