import { defineQuery } from '@temporalio/workflow';
import type { ReleaseStatus } from '../release/stages.js';

/** Where a release is: every stage with its state and figures. */
export const releaseStatusQuery = defineQuery<ReleaseStatus>('releaseStatus');

export const RELEASE_WORKFLOW_TYPE = 'ReleaseWorkflow';
