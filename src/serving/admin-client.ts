import { readFile } from 'node:fs/promises';
import { signAdminRequest } from './admin-signing.js';
import { ServingRejectedError, ServingUnavailableError } from './errors.js';
import type { SlotName } from './model-slot.js';
import type { ObservationsSince } from './observations.js';
import type { AdminResult, ModelStatus } from './registry.js';

export type { AdminResult, ModelStatus, SlotStatus } from './registry.js';
export type { BundleRef } from './loaded-model.js';
import type { DeployTarget } from './deploy-target.js';
export type { ObservationsSince, RequestObservation, ShadowComparison } from './observations.js';
export type { SlotName } from './model-slot.js';

export interface ObservationsResponse extends ObservationsSince {
  readonly model: string;
}

export interface ServingAdminClientOptions {
  /** e.g. `http://127.0.0.1:8300`. */
  readonly baseUrl: string;
  /** The admin HMAC secret. Kept private to the client; never sent. */
  readonly secret: string;
  /** Per request (default 60 s: a deploy verifies, loads and warms a model). */
  readonly timeoutMs?: number;
}

/**
 * A typed client of the serving runtime's admin API. Every request is signed afresh (new
 * timestamp and nonce), so retrying a call is safe; deploys of the bundle already in a slot
 * are no-ops on the server, so retrying a deploy is too.
 *
 * Errors: `ServingUnavailableError` (retryable) when the server cannot be reached, times out,
 * or answers 5xx/429; `ServingRejectedError` (not retryable) for any other 4xx, with the
 * server's reason as the message and its whole answer in `body`.
 */
export class ServingAdminClient {
  readonly baseUrl: string;
  readonly #secret: string;
  private readonly timeoutMs: number;

  constructor(options: ServingAdminClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#secret = options.secret;
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  list(): Promise<{ models: ModelStatus[] }> {
    return this.request('GET', '/admin/v1/models');
  }

  status(model: string): Promise<ModelStatus> {
    return this.request('GET', modelPath(model));
  }

  /** A string is a bundle folder on the serving host (the single-machine form); `{ reference }` is pulled from the store by digest. */
  deploy(model: string, slot: SlotName, target: string | DeployTarget): Promise<AdminResult> {
    return this.request('PUT', `${modelPath(model)}/slots/${slot}`, typeof target === 'string' ? { bundleDir: target } : target);
  }

  setWeight(model: string, canaryWeight: number): Promise<AdminResult> {
    return this.request('PUT', `${modelPath(model)}/weight`, { canaryWeight });
  }

  setShadow(model: string, enabled: boolean): Promise<AdminResult> {
    return this.request('PUT', `${modelPath(model)}/shadow`, { enabled });
  }

  promote(model: string): Promise<AdminResult> {
    return this.request('POST', `${modelPath(model)}/promote`);
  }

  rollback(model: string): Promise<AdminResult> {
    return this.request('POST', `${modelPath(model)}/rollback`);
  }

  observations(model: string, sinceMs: number): Promise<ObservationsResponse> {
    return this.request('GET', `${modelPath(model)}/observations?since=${Math.max(0, Math.floor(sinceMs))}`);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(this.baseUrl + path);
    const text = body === undefined ? '' : JSON.stringify(body);
    const headers: Record<string, string> = signAdminRequest({ secret: this.#secret, method, pathWithQuery: url.pathname + url.search, body: text });
    if (text) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body: text || undefined, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new ServingUnavailableError(`cannot reach the serving runtime at ${this.baseUrl} (${method} ${url.pathname}): ${networkReason(err)}`, undefined, { cause: err });
    }
    const raw = await response.text().catch(() => '');
    let json: unknown;
    try {
      json = raw ? JSON.parse(raw) : undefined;
    } catch {
      json = undefined;
    }
    if (response.ok) {
      if (json === undefined) throw new ServingUnavailableError(`${method} ${url.pathname}: the server answered ${response.status} without JSON`, response.status);
      return json as T;
    }
    const reason = (json as { error?: unknown } | undefined)?.error;
    const message = `${method} ${url.pathname}: ${response.status} ${typeof reason === 'string' ? reason : response.statusText || raw.slice(0, 200)}`;
    if (response.status >= 500 || response.status === 429) throw new ServingUnavailableError(message, response.status);
    throw new ServingRejectedError(message, response.status, json);
  }
}

function modelPath(model: string): string {
  return `/admin/v1/models/${encodeURIComponent(model)}`;
}

function networkReason(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'timed out';
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** The admin API's secret from MODELSHIP_SERVING_ADMIN_KEY, else the file MODELSHIP_SERVING_ADMIN_KEY_FILE names (trimmed). */
export async function adminSecretFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const file = env.MODELSHIP_SERVING_ADMIN_KEY_FILE;
  return env.MODELSHIP_SERVING_ADMIN_KEY ?? (file ? (await readFile(file, 'utf8')).trim() : undefined);
}
