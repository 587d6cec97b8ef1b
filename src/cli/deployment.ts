import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from '../release-worker.js';
import { workflowCodeBuildId } from '../versioning/build-id.js';
import { describeDeployment, rampVersion, setCurrentVersion } from '../versioning/deployment-admin.js';
import { connectClient } from './client.js';
import { CliError, printJson, say } from './output.js';

interface DeploymentFlags {
  deployment?: string;
  json?: boolean;
}

function deploymentName(flags: DeploymentFlags): string {
  const name = flags.deployment ?? process.env.MODELSHIP_DEPLOYMENT;
  if (!name) throw new CliError('no Worker Deployment named: pass --deployment or set MODELSHIP_DEPLOYMENT (the workers\' setting)', 2);
  return name;
}

/** Server refusals (NOT_FOUND for a version no worker has polled yet, FAILED_PRECONDITION) as one line. */
async function serverCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new CliError(`${what}: ${(err as Error).message}`);
  }
}

/** The build id a worker started from this code computes (without MODELSHIP_BUILD_ID, untraced). */
export function buildIdCommand(flags: { tracing?: boolean; json?: boolean }): void {
  const buildId = workflowCodeBuildId([WORKFLOWS_PATH, ...WORKFLOW_INTERCEPTOR_MODULES], flags.tracing ? ['tracing'] : []);
  if (flags.json) return printJson({ buildId });
  say(buildId);
}

export async function setCurrentCommand(flags: DeploymentFlags & { buildId: string }): Promise<void> {
  const name = deploymentName(flags);
  const { client, close } = await connectClient();
  try {
    const { previousBuildId } = await serverCall(`cannot make ${flags.buildId} current in ${name}`, () => setCurrentVersion(client, name, flags.buildId));
    if (flags.json) return printJson({ deploymentName: name, currentBuildId: flags.buildId, previousBuildId: previousBuildId ?? null });
    say(`${name}: ${flags.buildId} is current (was ${previousBuildId ?? 'unversioned'}); new releases start on it, running ones stay on their version`);
  } finally {
    await close();
  }
}

export async function rampCommand(flags: DeploymentFlags & { buildId: string; percent: string }): Promise<void> {
  const name = deploymentName(flags);
  const percent = Number(flags.percent);
  if (!(flags.percent.trim() !== '' && Number.isFinite(percent) && percent >= 0 && percent <= 100)) throw new CliError(`--percent must be a number from 0 to 100, got ${JSON.stringify(flags.percent)}`, 2);
  const { client, close } = await connectClient();
  try {
    await serverCall(`cannot ramp ${flags.buildId} in ${name}`, () => rampVersion(client, name, flags.buildId, percent));
    if (flags.json) return printJson({ deploymentName: name, rampingBuildId: flags.buildId, rampingPercent: percent });
    say(`${name}: ${flags.buildId} ramping at ${percent}% of new releases`);
  } finally {
    await close();
  }
}

export async function describeCommand(flags: DeploymentFlags): Promise<void> {
  const name = deploymentName(flags);
  const { client, close } = await connectClient();
  try {
    const described = await serverCall(`cannot describe ${name}`, () => describeDeployment(client, name));
    if (flags.json) return printJson(described);
    say(`deployment ${name}`);
    say(`  current  ${described.currentBuildId ?? '(unversioned workers)'}`);
    say(`  ramping  ${described.rampingBuildId ? `${described.rampingBuildId} at ${described.rampingPercent}%` : '(none)'}`);
    for (const v of described.versions) {
      say(`  version  ${v.buildId}  ${v.status}${v.drainage ? ` (${v.drainage})` : ''}  ${v.openPinned} open pinned workflow(s)`);
    }
  } finally {
    await close();
  }
}
