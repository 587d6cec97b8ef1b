/** The lifecycle in order. Later stages (smoke, canary, promote/rollback) append here. */
export const RELEASE_STAGES = ['export', 'hash', 'sign', 'attest', 'smoke'] as const;
export type StageName = (typeof RELEASE_STAGES)[number];

/** What ReleaseStage shows in the Web UI: the running stage, or how the release ended. */
export type ReleaseStageValue = StageName | 'released' | 'failed';

export interface StageError {
  readonly type: string;
  readonly message: string;
}

export type StageState =
  | { readonly status: 'pending' }
  /** Not part of this run: it started on a workflow version before the stage existed. */
  | { readonly status: 'skipped' }
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

export interface ReleaseStatus {
  readonly releaseId: string;
  readonly name: string;
  readonly version: string;
  readonly outcome: ReleaseOutcome;
  readonly stages: ReadonlyArray<{ readonly name: StageName; readonly state: StageState }>;
}
