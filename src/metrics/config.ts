import { MetricsConfigError } from '../errors/index.js';
import { DEFAULT_METRICS_HOST } from './metrics-server.js';


export interface MetricsEndpoint {
  readonly host: string;
  /** 0 picks a free port (logged at start). */
  readonly port: number;
}

/**
 * Where the worker serves metrics: flags first, then MODELSHIP_WORKER_METRICS_PORT /
 * MODELSHIP_WORKER_METRICS_HOST. No port: no metrics (and no Core exporter).
 */
export function resolveMetricsEndpoint(flags: { metricsPort?: string; metricsHost?: string } = {}, env: NodeJS.ProcessEnv = process.env): MetricsEndpoint | undefined {
  const portText = flags.metricsPort ?? env.MODELSHIP_WORKER_METRICS_PORT;
  if (portText === undefined || portText === '') return undefined;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new MetricsConfigError(`metrics port must be 0-65535, got ${JSON.stringify(portText)}`);
  return { host: flags.metricsHost ?? env.MODELSHIP_WORKER_METRICS_HOST ?? DEFAULT_METRICS_HOST, port };
}
