export { ReleaseWorkflow } from './release.js';
export { BatchRolloutWorkflow } from './batch-rollout.js';
