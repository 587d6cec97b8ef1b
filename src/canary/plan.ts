import type { CanaryPolicy } from './analysis/types.js';
import { canaryPolicyProblems } from './analysis/policy.js';

/**
 * A canary plan, Argo Rollouts style: steps that set the canary's share of traffic, bake it
 * (a durable timer, then analysis of canary against stable), or pause for a person. After the
 * last step the canary is promoted. Pure data: it travels in the release request.
 */
export type CanaryStep =
  | { readonly setWeight: number }
  | { readonly bakeSeconds: number }
  | { readonly pause: { readonly timeoutSeconds?: number } };

export interface CanaryPlan {
  /** The model's name on the serving runtime (default: the release's name). */
  readonly model?: string;
  readonly steps?: readonly CanaryStep[];
  /** Run the canary on copies of stable traffic and gate on prediction agreement (default true). */
  readonly shadow?: boolean;
  readonly policy?: Partial<CanaryPolicy>;
  /** How often a bake with too little traffic is extended before a person is asked (default 3). */
  readonly maxExtensions?: number;
  /** How long a pause (or an inconclusive analysis) waits for an operator before aborting (default 1 h). */
  readonly approvalTimeoutSeconds?: number;
}

export const DEFAULT_CANARY_STEPS: readonly CanaryStep[] = [
  { setWeight: 10 },
  { bakeSeconds: 60 },
  { setWeight: 50 },
  { bakeSeconds: 60 },
];

export interface ResolvedCanaryPlan {
  readonly model: string;
  readonly steps: readonly CanaryStep[];
  readonly shadow: boolean;
  readonly policy: Partial<CanaryPolicy>;
  readonly maxExtensions: number;
  readonly approvalTimeoutSeconds: number;
}

export function resolveCanaryPlan(plan: CanaryPlan | undefined, releaseName: string): ResolvedCanaryPlan {
  return {
    model: plan?.model ?? releaseName,
    steps: plan?.steps ?? DEFAULT_CANARY_STEPS,
    shadow: plan?.shadow ?? true,
    policy: plan?.policy ?? {},
    maxExtensions: plan?.maxExtensions ?? 3,
    approvalTimeoutSeconds: plan?.approvalTimeoutSeconds ?? 3600,
  };
}

/** Everything wrong with a plan, so a release fails at once rather than mid-canary. */
export function canaryPlanProblems(plan: ResolvedCanaryPlan): string[] {
  const problems: string[] = [];
  plan.steps.forEach((step, i) => {
    if ('setWeight' in step && !(Number.isInteger(step.setWeight) && step.setWeight >= 0 && step.setWeight <= 100)) problems.push(`step ${i}: setWeight must be an integer 0..100`);
    if ('bakeSeconds' in step && !(step.bakeSeconds > 0)) problems.push(`step ${i}: bakeSeconds must be positive`);
    if ('pause' in step && step.pause.timeoutSeconds !== undefined && !(step.pause.timeoutSeconds > 0)) problems.push(`step ${i}: pause timeoutSeconds must be positive`);
    if (Object.keys(step).length !== 1) problems.push(`step ${i}: exactly one of setWeight, bakeSeconds, pause`);
  });
  if (!(Number.isInteger(plan.maxExtensions) && plan.maxExtensions >= 0)) problems.push('maxExtensions must be a non-negative integer');
  if (!(plan.approvalTimeoutSeconds > 0)) problems.push('approvalTimeoutSeconds must be positive');
  problems.push(...canaryPolicyProblems(plan.policy as Record<string, unknown>));
  return problems;
}
