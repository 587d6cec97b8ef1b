import type { WorkerDeploymentVersion } from '@temporalio/common';
import { workflowCodeBuildId } from './build-id.js';

export interface DeploymentSettings {
  readonly version: WorkerDeploymentVersion;
  /** 'code' when the build id was derived from the workflow code, 'env' when MODELSHIP_BUILD_ID set it. */
  readonly buildIdFrom: 'code' | 'env';
}

/**
 * Worker Versioning is opt-in: MODELSHIP_DEPLOYMENT names the Worker Deployment this worker
 * joins; MODELSHIP_BUILD_ID overrides the build id derived from the workflow code. Unset, the
 * worker is unversioned, as before: a versioned worker gets no task until an operator makes
 * its version current or ramping (`modelship deployment set-current`), so turning it on by
 * default would stall the demo and every unversioned setup on their first release.
 */
export function deploymentFromEnvironment(workflowEntryFiles: readonly string[], extras: readonly string[], env: NodeJS.ProcessEnv = process.env): DeploymentSettings | undefined {
  const deploymentName = env.MODELSHIP_DEPLOYMENT?.trim();
  const override = env.MODELSHIP_BUILD_ID?.trim();
  if (!deploymentName) {
    if (override) throw new Error('MODELSHIP_BUILD_ID is set but MODELSHIP_DEPLOYMENT is not: name the Worker Deployment to turn versioning on, or unset MODELSHIP_BUILD_ID');
    return undefined;
  }
  if (override) return { version: { deploymentName, buildId: override }, buildIdFrom: 'env' };
  return { version: { deploymentName, buildId: workflowCodeBuildId(workflowEntryFiles, extras) }, buildIdFrom: 'code' };
}
