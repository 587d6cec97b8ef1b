import type { CanaryPlan } from '../canary/plan.js';
import type { ModelSource, SmokeOptions } from '../release/types.js';

/**
 * A batch rollout as it crosses Temporal: the rollout file parsed and validated on the client
 * (src/batch/rollout-file.ts), small JSON with paths as the worker sees them, never bytes or
 * secrets. Pure types: the batch workflow, the CLI and schedules share them.
 */

/** One model version to release. Defaults from the rollout fill what an entry leaves out. */
export interface RolloutEntry {
  readonly name: string;
  readonly version: string;
  readonly source: ModelSource;
  /** The canary plan; false: no deployment (the release ends with its verified bundle). */
  readonly canary?: CanaryPlan | false;
  readonly smoke?: SmokeOptions;
  /** Overrides the rollout's signing key for this entry. */
  readonly signingKeyPath?: string;
}

/** What happens to children still running when the batch halts. */
export type HaltMode = 'abort' | 'let-finish';

/**
 * The global halt: once failed + rolled-back entries exceed `maxFailures`, or exceed
 * `maxFailureFraction` of all entries, no further child starts. Neither set: never halts.
 */
export interface HaltPolicy {
  readonly maxFailures?: number;
  readonly maxFailureFraction?: number;
  /** abort: running children get the release's abort update (a canary rolls back); let-finish: they run to their end. */
  readonly onHalt: HaltMode;
}

export interface Rollout {
  /** A label for people (the file's `name`, or its file name). */
  readonly name: string;
  /** The file it was read from, for the Web UI details (absolute, as the client saw it). */
  readonly file?: string;
  readonly signingKeyPath: string;
  readonly requestedBy?: string;
  /** Entries per wave; the next wave starts when every child of this one has finished. */
  readonly waveSize: number;
  /** Children running at once within a wave (≤ waveSize takes effect). */
  readonly concurrency: number;
  /** A durable pause between waves (0: none). */
  readonly pauseBetweenWavesSeconds: number;
  readonly halt: HaltPolicy;
  /** Continue as new after this many waves, so any number of models keeps a bounded history. */
  readonly continueAsNewEveryWaves: number;
  /**
   * false (default): a version with any earlier release (completed, failed or rolled back) is
   * skipped; true: a failed or rolled-back version is released again (its cause fixed).
   */
  readonly rerunFailed: boolean;
  readonly entries: readonly RolloutEntry[];
}

/** How an entry ended (or where it is). released: bundle only; promoted: deployed to stable. */
export const ENTRY_OUTCOMES = ['pending', 'running', 'released', 'promoted', 'rolled_back', 'failed', 'skipped'] as const;
export type EntryOutcome = (typeof ENTRY_OUTCOMES)[number];

/** Carried across continue-as-new for every entry already decided: kept small. */
export interface EntryRecord {
  readonly outcome: EntryOutcome;
  readonly reason?: string;
  /** The release existed before this batch reached it (an earlier run of the batch, or another batch). */
  readonly existing?: boolean;
  /** The released model artifact's pinned reference (releases through the bundle store). */
  readonly reference?: string;
}

export interface EntryResult extends EntryRecord {
  readonly index: number;
  readonly wave: number;
  readonly name: string;
  readonly version: string;
  readonly releaseId: string;
}

export interface BatchTotals {
  readonly entries: number;
  readonly released: number;
  readonly promoted: number;
  readonly rolledBack: number;
  readonly failed: number;
  readonly skipped: number;
  /** Of the above: releases that already existed (skipped, or running and waited for). */
  readonly existing: number;
  readonly running: number;
  readonly pending: number;
}

export type BatchState = 'running' | 'pausing' | 'halting' | 'completed' | 'halted' | 'cancelled';

export interface HaltInfo {
  readonly reason: string;
  readonly at: string;
  readonly mode: HaltMode;
}

/** The batchStatus query's answer and the workflow's result. */
export interface BatchStatus {
  readonly batchId: string;
  readonly workflowId: string;
  readonly name: string;
  readonly state: BatchState;
  /** 1-based wave under way (or the last one); 0 before the first. */
  readonly wave: number;
  readonly waves: number;
  /** This run's number in the continue-as-new chain (1 for the first). */
  readonly run: number;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly totals: BatchTotals;
  readonly halted?: HaltInfo;
  readonly entries: readonly EntryResult[];
}

/** What one run hands the next when it continues as new. */
export interface BatchProgress {
  /** Index of the first entry not yet started. */
  readonly cursor: number;
  /** Records of entries [0, cursor). */
  readonly records: readonly EntryRecord[];
  readonly run: number;
  readonly startedAt: string;
}

export interface BatchInput {
  readonly rollout: Rollout;
  /** Absent on the first run. */
  readonly progress?: BatchProgress;
}
