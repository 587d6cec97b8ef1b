import type { Sinks } from '@temporalio/workflow';
import type { ReleaseOutcomeLabel } from './release-outcome.js';

/**
 * How a workflow hands its outcome to the worker's metrics without doing I/O: a sink call is
 * recorded in the sandbox and run by the worker after the activation (and, by default, not
 * while the history is being replayed).
 */
export interface ReleaseMetricsSinks extends Sinks {
  releaseMetrics: {
    /** `seconds`: workflow time from the run's start to its end. */
    releaseFinished(outcome: ReleaseOutcomeLabel, seconds: number): void;
  };
}
