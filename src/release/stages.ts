/** The lifecycle in order. Later stages (smoke, canary, promote/rollback) append here. */
export const RELEASE_STAGES = ['export', 'hash', 'sign', 'attest', 'smoke', 'canary'] as const;
export type StageName = (typeof RELEASE_STAGES)[number];

/** What ReleaseStage shows in the Web UI: the running stage, or how the release ended. */
export type ReleaseStageValue = StageName | 'paused' | 'released' | 'promoted' | 'rolled_back' | 'failed';

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
}

export interface ReleaseStatus {
  readonly releaseId: string;
  readonly name: string;
  readonly version: string;
  readonly outcome: ReleaseOutcome;
  readonly stages: ReadonlyArray<{ readonly name: StageName; readonly state: StageState }>;
  readonly canary?: CanaryStatus;
}
