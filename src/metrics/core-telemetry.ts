import { createServer } from 'node:net';
import type { TelemetryOptions } from '@temporalio/worker';

/**
 * A free loopback port for Temporal Core's Prometheus exporter. Core binds the address it is
 * given and cannot report the port it got, so we ask the OS for one first; another process
 * could take it in between, in which case Runtime.install fails and says so.
 */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port from the OS'))));
    });
  });
}

/**
 * Schedule-to-start bucket bounds (ms). Core's default (100, 500, 1000, 5000, 10000, 100000,
 * 1000000) puts every healthy task in its first bucket, so a p50 or p99 below 100 ms cannot be
 * told apart; these split it, and keep every default bound so queries on `le` still match.
 */
export const SCHEDULE_TO_START_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000, 100000, 1000000];

/**
 * Core's exporter, kept internal on loopback: the worker's metrics server reads it and serves
 * it with modelship's own metrics on the one public port. Core's defaults (temporal_ prefix,
 * durations in milliseconds) are kept, so Temporal's SDK dashboards work unchanged; only the
 * schedule-to-start histograms get finer buckets (SCHEDULE_TO_START_BUCKETS_MS).
 */
export function coreMetricsTelemetry(corePort: number): { telemetry: TelemetryOptions; coreMetricsUrl: string } {
  const bindAddress = `127.0.0.1:${corePort}`;
  // Core matches these names without its temporal_ prefix.
  const histogramBucketOverrides = {
    workflow_task_schedule_to_start_latency: SCHEDULE_TO_START_BUCKETS_MS,
    activity_schedule_to_start_latency: SCHEDULE_TO_START_BUCKETS_MS,
  };
  return { telemetry: { metrics: { prometheus: { bindAddress, histogramBucketOverrides } } }, coreMetricsUrl: `http://${bindAddress}/metrics` };
}
