import { Context } from '@temporalio/activity';
import { ServingAdminClient, type ModelStatus } from '../serving-client/admin-client.js';
import { holds, type DeployTarget } from '../serving/control/deploy-target.js';
import { judgeCanary } from '../canary/analysis/judge.js';
import type { CanaryPolicy, Judgement } from '../canary/analysis/types.js';
import { ServingNotConfiguredError } from '../errors/index.js';
import type { ActivityDeps } from './deps.js';


function client(deps: ActivityDeps): ServingAdminClient {
  if (!deps.serving) {
    throw new ServingNotConfiguredError('this worker has no serving runtime: set MODELSHIP_SERVING_URL and MODELSHIP_SERVING_ADMIN_KEY_FILE (or MODELSHIP_SERVING_ADMIN_KEY)');
  }
  return new ServingAdminClient({ baseUrl: deps.serving.url, secret: deps.serving.secret });
}

/** Whether this worker deploys to a serving runtime; the workflow skips the canary if not. */
export async function servingTarget(deps: ActivityDeps): Promise<{ configured: boolean; url?: string }> {
  return deps.serving ? { configured: true, url: deps.serving.url } : { configured: false };
}

export interface CanaryDeployResult {
  /** `canary` normally; `stable` for a model's first version, which has nothing to compare with. */
  readonly slot: 'stable' | 'canary';
  readonly message: string;
  readonly stableVersion: string | null;
}

/**
 * Puts the bundle in the canary slot (or, for a model with no stable version yet, in the
 * stable slot). The server verifies the bundle against its trusted keys before loading, and
 * deploying what a slot already holds is a no-op, so a retry never deploys twice.
 */
export async function deployCanary(deps: ActivityDeps, input: { model: string; shadow: boolean } & CanaryBundle): Promise<CanaryDeployResult> {
  const admin = client(deps);
  const target = deployTarget(input);
  const status = await statusOrEmpty(admin, input.model);
  const stable = status?.slots.stable;
  if (!stable || holds(stable, target)) {
    const result = await admin.deploy(input.model, 'stable', target);
    return { slot: 'stable', message: result.message, stableVersion: null };
  }
  const result = await admin.deploy(input.model, 'canary', target);
  await admin.setShadow(input.model, input.shadow);
  return { slot: 'canary', message: result.message, stableVersion: stable.version };
}

export async function setCanaryWeight(deps: ActivityDeps, input: { model: string; weight: number }): Promise<{ weight: number; message: string }> {
  const result = await client(deps).setWeight(input.model, input.weight);
  return { weight: result.status.canaryWeight, message: result.message };
}

/**
 * Judges canary against stable on what the serving runtime observed since `sinceMs`. The raw
 * observations stay here; only the judgement (every measured value) goes into history.
 */
export async function analyzeCanary(deps: ActivityDeps, input: { model: string; sinceMs: number; policy: Partial<CanaryPolicy> }): Promise<Judgement> {
  const observations = await client(deps).observations(input.model, input.sinceMs);
  Context.current().heartbeat();
  const window = {
    baseline: observations.slots.stable.map((o) => ({ latencyMs: o.latencyMs, error: o.error })),
    canary: observations.slots.canary.map((o) => ({ latencyMs: o.latencyMs, error: o.error })),
    shadow: observations.shadow.map((s) => ({ agree: s.agree, maxAbsDiff: s.maxAbsDiff ?? Number.POSITIVE_INFINITY })),
  };
  return judgeCanary(window, input.policy);
}

/** Canary becomes stable at 100%; the previous stable is kept for a fast rollback. Idempotent. */
export async function promoteCanary(deps: ActivityDeps, input: { model: string } & CanaryBundle): Promise<{ message: string }> {
  const admin = client(deps);
  const status = await admin.status(input.model);
  if (status.slots.stable && holds(status.slots.stable, deployTarget(input)) && !status.slots.canary) return { message: 'already promoted' };
  const result = await admin.promote(input.model);
  return { message: result.message };
}

/** Canary weight to 0 and the canary slot cleared; stable untouched. Idempotent. */
export async function rollbackCanary(deps: ActivityDeps, input: { model: string } & CanaryBundle): Promise<{ message: string }> {
  const admin = client(deps);
  const status = await admin.status(input.model);
  if (!status.slots.canary || !holds(status.slots.canary, deployTarget(input))) return { message: 'canary slot does not hold this release: nothing to roll back' };
  const result = await admin.rollback(input.model);
  return { message: result.message };
}

/** What a canary deploys: the release's pinned reference in the store (the activity input carries the model name and options too). */
export interface CanaryBundle {
  readonly reference: string;
}

function deployTarget(input: CanaryBundle): DeployTarget {
  return { reference: input.reference };
}

async function statusOrEmpty(admin: ServingAdminClient, model: string): Promise<ModelStatus | undefined> {
  try {
    return await admin.status(model);
  } catch (err) {
    if ((err as { status?: number }).status === 404) return undefined;
    throw err;
  }
}
