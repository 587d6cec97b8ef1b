import { tracingConfigFromEnvironment } from './otel-config.js';
import type { Tracing } from './tracing.js';

export type { Tracing } from './tracing.js';

let started: Promise<Tracing> | undefined;

/**
 * Starts tracing for this process when the OTEL_* variables ask for it (see
 * tracingConfigFromEnvironment), else returns undefined having loaded only the OpenTelemetry
 * API: the SDK, exporters and the Temporal plugin are imported only when used. Once per process.
 */
export async function startTracing(defaultServiceName: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  if (started) return started;
  const config = tracingConfigFromEnvironment(env);
  if (!config) return undefined;
  started = import('./tracing.js').then(({ startSdk }) => startSdk(config, defaultServiceName));
  return started;
}
