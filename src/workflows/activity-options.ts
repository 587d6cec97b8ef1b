import type { ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../errors/index.js';

const nonRetryableErrorTypes = [...NON_RETRYABLE_ERROR_TYPES];

/**
 * Timeouts and retries per stage. Bad input is never retried (typed errors above);
 * I/O hiccups and worker crashes are, with backoff. Every stage heartbeats (at least every 2–5 s),
 * so a worker lost to SIGKILL or a dead host is noticed within heartbeatTimeout and the retry
 * runs on another worker seconds later, not at startToClose. Each call adds its own summary for
 * the Web UI's timeline (timeline.ts).
 */
const LOST_WORKER_NOTICED_IN = '10 seconds';
export const STAGE_ACTIVITY_OPTIONS = {
  export: {
    startToCloseTimeout: '20 minutes',
    heartbeatTimeout: LOST_WORKER_NOTICED_IN,
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes },
  },
  hash: {
    startToCloseTimeout: '4 hours',
    heartbeatTimeout: LOST_WORKER_NOTICED_IN,
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes },
  },
  sign: {
    startToCloseTimeout: '1 minute',
    heartbeatTimeout: LOST_WORKER_NOTICED_IN,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes },
  },
  attest: {
    startToCloseTimeout: '1 minute',
    heartbeatTimeout: LOST_WORKER_NOTICED_IN,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes },
  },
  smoke: {
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: LOST_WORKER_NOTICED_IN,
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 3, nonRetryableErrorTypes },
  },
  canary: {
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '1 minute',
    // The serving runtime may be restarting: keep trying for a few minutes before giving up.
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 12, nonRetryableErrorTypes },
  },
} as const satisfies Record<string, ActivityOptions>;

/**
 * The batch's look at other releases (src/activities/release-control.ts). `await` and `abort`
 * last as long as the release they follow (a canary may bake for hours) and heartbeat, so a
 * lost worker is noticed in seconds and the poll resumes elsewhere.
 */
export const BATCH_ACTIVITY_OPTIONS = {
  inspect: {
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
  },
  await: {
    startToCloseTimeout: '7 days',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
  },
  abort: {
    startToCloseTimeout: '1 day',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20 },
  },
} as const satisfies Record<string, ActivityOptions>;
