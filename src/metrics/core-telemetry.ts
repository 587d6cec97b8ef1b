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
 * Core's exporter, kept internal on loopback: the worker's metrics server reads it and serves
 * it with modelship's own metrics on the one public port. Core's defaults (temporal_ prefix,
 * durations in milliseconds) are kept, so Temporal's SDK dashboards work unchanged.
 */
export function coreMetricsTelemetry(corePort: number): { telemetry: TelemetryOptions; coreMetricsUrl: string } {
  const bindAddress = `127.0.0.1:${corePort}`;
  return { telemetry: { metrics: { prometheus: { bindAddress } } }, coreMetricsUrl: `http://${bindAddress}/metrics` };
}
