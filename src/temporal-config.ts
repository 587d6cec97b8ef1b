import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

export const DEFAULT_TASK_QUEUE = 'modelship-releases';
export const DEFAULT_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';

export interface TemporalSettings {
  readonly connectionOptions: NativeConnectionOptions;
  readonly namespace: string;
  readonly taskQueue: string;
  /** Base URL of the Web UI, for links to runs. */
  readonly uiUrl: string;
}

/**
 * Connection settings the standard Temporal way (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TLS, TEMPORAL_PROFILE and the config file), so the same worker and CLI
 * run against a production cluster or Temporal Cloud. Unset means the local dev server.
 */
export function loadTemporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  // The variables come from `env`, not always process.env: what a caller passes is what connects.
  // TEMPORAL_API_KEY becomes connectionOptions.apiKey (sent as a bearer token) and turns TLS on.
  const overrideEnvVars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  const config = loadClientConnectConfig({ overrideEnvVars, ...(env.TEMPORAL_PROFILE ? { profile: env.TEMPORAL_PROFILE } : {}) });
  const address = config.connectionOptions.address ?? DEFAULT_ADDRESS;
  const namespace = config.namespace ?? DEFAULT_NAMESPACE;
  return {
    connectionOptions: dropUndefined({ ...config.connectionOptions, address }),
    namespace,
    taskQueue: env.MODELSHIP_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    uiUrl: (env.MODELSHIP_UI_URL ?? defaultUiUrl(address)).replace(/\/$/, ''),
  };
}

function defaultUiUrl(address: string): string {
  const host = address.replace(/:\d+$/, '');
  return host === '127.0.0.1' || host === 'localhost' ? 'http://localhost:8233' : `https://${host}`;
}

export function runUrl(settings: Pick<TemporalSettings, 'uiUrl' | 'namespace'>, workflowId: string, runId?: string): string {
  const base = `${settings.uiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
