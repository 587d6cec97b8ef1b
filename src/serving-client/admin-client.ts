import { parseAdminKey, readAdminKey, type AdminCredentials } from './admin-key-file.js';
import { signAdminRequest } from './admin-signing.js';
import { injectTraceHeaders } from '../tracing/active-trace.js';
import { ServingRejectedError, ServingUnavailableError } from '../errors/index.js';
import type { SlotName } from '../serving/control/model-slot.js';
import type { ObservationsSince } from '../serving/dataplane/observations.js';
import type { AdminResult, ModelStatus } from '../serving/control/model-catalog.js';

export type { AdminResult, ModelStatus, SlotStatus } from '../serving/control/model-catalog.js';
export type { BundleRef } from '../serving/control/loaded-model.js';
import type { DeployTarget } from '../serving/control/deploy-target.js';
export type { ObservationsSince, RequestObservation, ShadowComparison } from '../serving/dataplane/observations.js';
export type { SlotName } from '../serving/control/model-slot.js';
export type { AdminCredentials } from './admin-key-file.js';

/** Where a client takes its admin key for each request: e.g. a key file that a rotation replaces. */
export type AdminCredentialsSource = () => Promise<AdminCredentials>;

export interface ObservationsResponse extends ObservationsSince {
  readonly model: string;
}

export interface ServingAdminClientOptions {
  /** e.g. `http://127.0.0.1:8300`. */
  readonly baseUrl: string;
  /**
   * The admin HMAC secret (signed without a key id), or a source asked before every request
   * (signed with its key id). Kept private to the client; never sent.
   */
  readonly secret: string | AdminCredentialsSource;
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
 *
 * With a credentials source, a 401 is retried once when the source now gives another key: a
 * request signed just before a rotation switched keys, and refused just after the old key was
 * retired, goes through with the new one instead of failing a deploy.
 */
export class ServingAdminClient {
  readonly baseUrl: string;
  readonly #credentials: AdminCredentialsSource;
  private readonly dynamic: boolean;
  private readonly timeoutMs: number;

  constructor(options: ServingAdminClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const fixed = options.secret;
    this.dynamic = typeof fixed !== 'string';
    this.#credentials = typeof fixed === 'string' ? () => Promise.resolve({ secret: fixed }) : fixed;
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
    const send = async (key: AdminCredentials): Promise<Response> => {
      const headers: Record<string, string> = signAdminRequest({ secret: key.secret, keyId: key.kid, method, pathWithQuery: url.pathname + url.search, body: text });
      if (text) headers['content-type'] = 'application/json';
      // The caller's span (a release's RunActivity) becomes the parent of the runtime's spans.
      injectTraceHeaders(headers);
      try {
        return await fetch(url, { method, headers, body: text || undefined, signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (err) {
        throw new ServingUnavailableError(`cannot reach the serving runtime at ${this.baseUrl} (${method} ${url.pathname}): ${networkReason(err)}`, undefined, { cause: err });
      }
    };
    const key = await this.#credentials();
    let response = await send(key);
    if (response.status === 401 && this.dynamic) {
      const next = await this.#credentials();
      if (next.kid !== key.kid || next.secret !== key.secret) {
        await response.arrayBuffer().catch(() => undefined);
        response = await send(next);
      }
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

/**
 * The admin key from MODELSHIP_SERVING_ADMIN_KEY (fixed), else from the file
 * MODELSHIP_SERVING_ADMIN_KEY_FILE names, read again for every request so a rotation that
 * replaces the file switches the client without a restart. The file is read once here, so a
 * missing or malformed one fails at start. Undefined when neither is set.
 */
export async function adminCredentialsFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<AdminCredentialsSource | undefined> {
  if (env.MODELSHIP_SERVING_ADMIN_KEY) {
    const key = parseAdminKey(env.MODELSHIP_SERVING_ADMIN_KEY, 'MODELSHIP_SERVING_ADMIN_KEY');
    return () => Promise.resolve(key);
  }
  const file = env.MODELSHIP_SERVING_ADMIN_KEY_FILE;
  if (!file) return undefined;
  await readAdminKey(file);
  return () => readAdminKey(file);
}
