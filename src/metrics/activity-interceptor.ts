import { performance } from 'node:perf_hooks';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { WorkerMetrics } from './worker-metrics.js';

/** The error type history shows for a failed attempt: the ApplicationFailure type, else the error's name. */
function errorType(err: unknown): string {
  if (err instanceof ApplicationFailure) return err.type ?? 'Error';
  return err instanceof Error ? err.name : 'Error';
}

/**
 * Times every activity attempt and counts retries and failures. Activities stay free of
 * metrics code; the stage comes from the activity type. Outside the workflow sandbox, so
 * clocks and I/O are fine here.
 */
export function activityMetricsInterceptor(metrics: WorkerMetrics): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const { activityType, attempt } = ctx.info;
        metrics.activityStarted(activityType, attempt);
        const started = performance.now();
        const seconds = () => (performance.now() - started) / 1000;
        try {
          const result = await next(input);
          metrics.activityFinished(activityType, seconds(), 'succeeded');
          return result;
        } catch (err) {
          const cancelled = err instanceof CancelledFailure || ctx.cancellationSignal.aborted;
          metrics.activityFinished(activityType, seconds(), cancelled ? 'cancelled' : 'failed', errorType(err));
          throw err;
        }
      },
    },
  });
}
