import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import type { ReleaseResult } from '../release/types.js';

/** How a release ended, as modelship_releases_total counts it. */
export const RELEASE_OUTCOMES = ['released', 'promoted', 'rolled_back', 'failed'] as const;
export type ReleaseOutcomeLabel = (typeof RELEASE_OUTCOMES)[number];

/** A finished release's outcome from its result: promoted when it went through the canary stage. */
export function outcomeOfResult(result: unknown): ReleaseOutcomeLabel {
  return (result as Partial<ReleaseResult> | undefined)?.canary ? 'promoted' : 'released';
}

/**
 * The outcome of a release whose workflow threw `err`, or undefined when the error does not
 * close the workflow: only Temporal failures fail a workflow; anything else fails the workflow
 * task, which Temporal retries, so counting it would count a release that is still running.
 */
export function outcomeOfError(err: unknown): ReleaseOutcomeLabel | undefined {
  if (!(err instanceof TemporalFailure)) return undefined;
  return rolledBack(err) ? 'rolled_back' : 'failed';
}

/** ReleaseFailed carries the stage error (with its type) as details; its cause is the original. */
function rolledBack(err: TemporalFailure): boolean {
  for (let e: unknown = err; e instanceof TemporalFailure; e = e.cause) {
    if (e instanceof ApplicationFailure) {
      if (e.type === 'CanaryRolledBack') return true;
      const details = e.details?.[0] as { type?: unknown } | undefined;
      if (details?.type === 'CanaryRolledBack') return true;
    }
  }
  return false;
}
