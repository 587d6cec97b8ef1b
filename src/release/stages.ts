import type { Judgement } from '../canary/analysis/types.js';

/** The lifecycle in order. Later stages (smoke, canary, promote/rollback) append here. */
export const RELEASE_STAGES = ['export', 'hash', 'sign', 'attest', 'smoke', 'canary'] as const;
export type StageName = (typeof RELEASE_STAGES)[number];

/** What ReleaseStage shows in the Web UI: the running stage, or how the release ended. */
export type ReleaseStageValue = StageName | 'paused' | 'released' | 'promoted' | 'rolled_back' | 'failed';

/**
 * What the Verdict search attribute says: the release's verdict so far.
 * - `pending`: nothing decided yet (the stages before the canary are running);
 * - `pass` | `fail` | `inconclusive`: the latest canary analysis, while the canary runs;
 *   `pass` is also the final verdict of a release that ends without deployment (every stage passed);
 * - `promoted`: deployed to stable at 100% (a promoted canary, or a model's first version);
 * - `rolled_back`: the canary was rolled back (failed analysis, abort, approval timeout);
 * - `failed`: a stage failed (the status query and the failure name which one and why).
 * Kept apart from ReleaseStage so a filter can ask "how did it go" without "where is it".
 */
export const RELEASE_VERDICTS = ['pending', 'pass', 'fail', 'inconclusive', 'promoted', 'rolled_back', 'failed'] as const;
export type ReleaseVerdict = (typeof RELEASE_VERDICTS)[number];

/** The verdict a final ReleaseStage implies; undefined while the release is under way. */
export function verdictOfStage(stage: ReleaseStageValue): ReleaseVerdict | undefined {
  switch (stage) {
    case 'released':
      return 'pass';
    case 'promoted':
    case 'rolled_back':
    case 'failed':
      return stage;
    default:
      return undefined;
  }
}

export interface StageError {
  readonly type: string;
  readonly message: string;
}

export type StageState =
  | { readonly status: 'pending' }
  /** Not part of this run: it started on a workflow version before the stage existed. */
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'running'; readonly startedAt: string }
  | {
      readonly status: 'succeeded';
      readonly startedAt: string;
      readonly finishedAt: string;
      /** The figures worth reading at a glance: digests, kid, file names. */
      readonly summary: Readonly<Record<string, string | number>>;
    }
  | { readonly status: 'failed'; readonly startedAt: string; readonly finishedAt: string; readonly error: StageError };

export type ReleaseOutcome =
  | { readonly state: 'running'; readonly stage: StageName }
  | { readonly state: 'released'; readonly bundleDir: string; readonly rootDigest: string }
  | { readonly state: 'failed'; readonly stage: StageName; readonly error: StageError };

export type CanaryPhase = 'deploying' | 'baking' | 'analyzing' | 'paused' | 'promoting' | 'rolling-back' | 'promoted' | 'rolled-back';

/** One decision of the canary with the figures behind it. */
export interface CanaryDecision {
  readonly at: string;
  readonly step: number;
  readonly weight: number;
  readonly kind: 'analysis' | 'extend' | 'pause' | 'approve' | 'promote' | 'abort' | 'timeout' | 'first-version';
  /** For analyses: pass, fail or inconclusive. */
  readonly verdict?: string;
  /** One readable line with the measured values. */
  readonly summary: string;
}

export interface CanaryStatus {
  readonly model: string;
  readonly phase: CanaryPhase;
  readonly step: number;
  readonly steps: number;
  readonly weight: number;
  readonly decisions: readonly CanaryDecision[];
  /** The latest analysis with every measured figure (absent until the first one). */
  readonly lastAnalysis?: { readonly at: string; readonly weight: number; readonly judgement: Judgement };
}

export interface ReleaseStatus {
  readonly releaseId: string;
  readonly name: string;
  readonly version: string;
  readonly outcome: ReleaseOutcome;
  readonly stages: ReadonlyArray<{ readonly name: StageName; readonly state: StageState }>;
  readonly canary?: CanaryStatus;
}
