import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

/**
 * Ramp, make current and describe a Worker Deployment through the frontend's worker deployment
 * API (the calls behind `temporal worker deployment ...`). A version exists on the server once
 * one of its workers has polled; until then these calls fail with NOT_FOUND.
 */

export interface DeploymentVersionSummary {
  readonly buildId: string;
  /** inactive | current | ramping | draining | drained | created */
  readonly status: string;
  /** draining | drained, once the version is neither current nor ramping; otherwise undefined. */
  readonly drainage?: string;
  /** Open workflows pinned to this version (visibility count): stop its workers only at 0. */
  readonly openPinned: number;
}

export interface DeploymentDescription {
  readonly deploymentName: string;
  /** undefined: unversioned workers get new workflows. */
  readonly currentBuildId?: string;
  readonly rampingBuildId?: string;
  readonly rampingPercent: number;
  readonly versions: readonly DeploymentVersionSummary[];
}

const { WorkerDeploymentVersionStatus, VersionDrainageStatus } = proto.temporal.api.enums.v1;
const enumName = (values: object, prefix: string, value: number | null | undefined): string | undefined => {
  const name = Object.entries(values).find(([, v]) => v === value)?.[0];
  return name && !name.endsWith('_UNSPECIFIED') ? name.slice(prefix.length).toLowerCase() : undefined;
};

const IDENTITY = 'modelship-cli';

export async function setCurrentVersion(client: Client, deploymentName: string, buildId: string): Promise<{ previousBuildId?: string }> {
  const response = await client.workflowService.setWorkerDeploymentCurrentVersion({ namespace: client.options.namespace, deploymentName, buildId, identity: IDENTITY });
  return response.previousDeploymentVersion?.buildId ? { previousBuildId: response.previousDeploymentVersion.buildId } : {};
}

/** Sends `percent` of new workflows (and auto-upgrade ones) to `buildId`; percent 0 keeps it ramping with no traffic. */
export async function rampVersion(client: Client, deploymentName: string, buildId: string, percent: number): Promise<void> {
  if (!(Number.isFinite(percent) && percent >= 0 && percent <= 100)) throw new RangeError(`ramp percent must be 0 to 100, got ${percent}`);
  await client.workflowService.setWorkerDeploymentRampingVersion({ namespace: client.options.namespace, deploymentName, buildId, percentage: percent, identity: IDENTITY });
}

/**
 * The value of the TemporalWorkerDeploymentVersion search attribute for a version, as the
 * server writes it (deployment:buildId since server 1.28).
 */
export function versionSearchValue(deploymentName: string, buildId: string): string {
  return `${deploymentName}:${buildId}`;
}

export async function describeDeployment(client: Client, deploymentName: string): Promise<DeploymentDescription> {
  const { workerDeploymentInfo: info } = await client.workflowService.describeWorkerDeployment({ namespace: client.options.namespace, deploymentName });
  const routing = info?.routingConfig;
  const versions: DeploymentVersionSummary[] = [];
  for (const summary of info?.versionSummaries ?? []) {
    const buildId = summary.deploymentVersion?.buildId ?? '';
    const drainage = enumName(VersionDrainageStatus, 'VERSION_DRAINAGE_STATUS_', summary.drainageInfo?.status ?? summary.drainageStatus);
    const query = `TemporalWorkerDeploymentVersion = '${versionSearchValue(deploymentName, buildId)}' AND ExecutionStatus = 'Running'`;
    const { count: openPinned } = await client.workflow.count(query);
    versions.push({
      buildId,
      status: enumName(WorkerDeploymentVersionStatus, 'WORKER_DEPLOYMENT_VERSION_STATUS_', summary.status) ?? 'unknown',
      ...(drainage ? { drainage } : {}),
      openPinned,
    });
  }
  return {
    deploymentName,
    ...(routing?.currentDeploymentVersion?.buildId ? { currentBuildId: routing.currentDeploymentVersion.buildId } : {}),
    ...(routing?.rampingDeploymentVersion?.buildId ? { rampingBuildId: routing.rampingDeploymentVersion.buildId } : {}),
    rampingPercent: routing?.rampingVersionPercentage ?? 0,
    versions,
  };
}
