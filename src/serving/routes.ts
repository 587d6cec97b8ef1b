import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { errorMessage } from '../errors.js';
import type { AdminAuthenticator } from './admin-auth.js';
import type { ServingLimits } from './config.js';
import { InvalidRequestError, PayloadTooLargeError, ServingHttpError, UnknownModelError } from './errors.js';
import { parseJson, readBody, sendError, sendJson } from './http.js';
import type { InferenceService } from './inference.js';
import type { ServingMetrics } from './metrics.js';
import type { SlotName } from './model-slot.js';
import type { ModelRegistry } from './registry.js';

/** Header carrying the sticky routing key of an inference request. */
export const REQUEST_KEY_HEADER = 'x-request-key';
export const MAX_REQUEST_KEY_LENGTH = 1024;

export interface RouteDeps {
  readonly registry: ModelRegistry;
  readonly inference: InferenceService;
  readonly auth: AdminAuthenticator;
  readonly metrics: ServingMetrics;
  readonly logger: Logger;
  readonly limits: ServingLimits;
}

class MethodNotAllowedError extends ServingHttpError {
  readonly type = 'MethodNotAllowed';
  readonly retryable = false;
  readonly status = 405;
}

class NoRouteError extends ServingHttpError {
  readonly type = 'NoRoute';
  readonly retryable = false;
  readonly status = 404;
}

interface Target {
  readonly method: string;
  /** The request target exactly as sent (what admin signatures cover). */
  readonly raw: string;
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
}

function parseTarget(req: IncomingMessage): Target {
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  let segments: string[];
  try {
    segments = path.split('/').slice(1).map((s) => decodeURIComponent(s));
  } catch {
    throw new InvalidRequestError(`the path ${JSON.stringify(path)} is not valid percent-encoding`);
  }
  if (segments.length && segments[segments.length - 1] === '') segments.pop();
  return { method: req.method ?? 'GET', raw, segments, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

function allow(target: Target, ...methods: string[]): void {
  if (!methods.includes(target.method)) throw new MethodNotAllowedError(`${target.method} is not allowed on ${target.raw.split('?')[0]} (allowed: ${methods.join(', ')})`, { allow: methods });
}

/** The request handler: inference, metrics, health, and the signed admin API. */
export function createRequestHandler(deps: RouteDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((err: unknown) => {
      if (!(err instanceof ServingHttpError)) deps.logger.error({ err: errorMessage(err), method: req.method, url: req.url }, 'unexpected error handling a request');
      // After a refused body the rest of it is not read: close the connection rather than drain it.
      sendError(res, err, err instanceof PayloadTooLargeError ? { connection: 'close' } : {});
    });
  };
}

async function handle(deps: RouteDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const target = parseTarget(req);
  const [first, second, third, name, action, ...rest] = target.segments;

  if (first === 'healthz' && target.segments.length === 1) {
    allow(target, 'GET');
    return sendJson(res, 200, { status: 'ok' });
  }
  if (first === 'metrics' && target.segments.length === 1) {
    allow(target, 'GET');
    const text = await deps.metrics.render();
    res.writeHead(200, { 'content-type': deps.metrics.contentType, 'cache-control': 'no-store' });
    res.end(text);
    return;
  }
  // POST /v1/models/{name}/infer
  if (first === 'v1' && second === 'models' && target.segments.length === 4 && target.segments[3] === 'infer') {
    allow(target, 'POST');
    const model = third!;
    const key = req.headers[REQUEST_KEY_HEADER];
    if (Array.isArray(key) || (key !== undefined && key.length > MAX_REQUEST_KEY_LENGTH)) {
      throw new InvalidRequestError(`${REQUEST_KEY_HEADER} must be one value of at most ${MAX_REQUEST_KEY_LENGTH} characters`);
    }
    if (!deps.registry.get(model)) throw new UnknownModelError(`no model named ${JSON.stringify(model)}`);
    const body = parseJson(await readBody(req, deps.limits.maxInferBodyBytes));
    const answer = await deps.inference.infer(model, key, body);
    return sendJson(res, 200, answer);
  }
  if (first === 'admin') {
    // Every admin request is authenticated before anything else, so unsigned callers learn nothing (not even which models exist).
    const body = await readBody(req, deps.limits.maxAdminBodyBytes);
    const verdict = deps.auth.verify(target.method, target.raw, req.headers, body);
    if (!verdict.ok) {
      deps.logger.warn({ method: target.method, path: target.raw.split('?')[0], remote: req.socket.remoteAddress, reason: verdict.reason }, 'admin request refused');
      return sendJson(res, verdict.status, { error: verdict.reason, type: 'AdminAuthError' });
    }
    if (second === 'v1' && third === 'models') {
      return sendJson(res, 200, await admin(deps, target, name, action, rest, body));
    }
  }
  throw new NoRouteError(`no route for ${target.method} ${target.raw.split('?')[0]}`);
}

async function admin(deps: RouteDeps, target: Target, name: string | undefined, action: string | undefined, rest: readonly string[], body: Buffer): Promise<unknown> {
  const { registry } = deps;
  const json = () => {
    const value = parseJson(body);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidRequestError('the body must be a JSON object');
    return value as Record<string, unknown>;
  };
  if (name === undefined) {
    allow(target, 'GET');
    return { models: registry.statusAll() };
  }
  if (action === undefined) {
    allow(target, 'GET');
    return registry.status(name);
  }
  if (action === 'slots' && rest.length === 1 && (rest[0] === 'stable' || rest[0] === 'canary')) {
    allow(target, 'PUT');
    return registry.deploy(name, rest[0] as SlotName, json());
  }
  if (rest.length === 0) {
    switch (action) {
      case 'weight':
        allow(target, 'PUT');
        return registry.setWeight(name, json().canaryWeight);
      case 'shadow':
        allow(target, 'PUT');
        return registry.setShadow(name, json().enabled);
      case 'promote':
        allow(target, 'POST');
        return registry.promote(name);
      case 'rollback':
        allow(target, 'POST');
        return registry.rollback(name);
      case 'observations': {
        allow(target, 'GET');
        const sinceText = target.query.get('since') ?? '0';
        const since = Number(sinceText);
        if (!/^\d{1,16}$/.test(sinceText)) throw new InvalidRequestError(`since must be unix milliseconds, got ${JSON.stringify(sinceText)}`);
        const entry = registry.get(name);
        if (!entry) throw new UnknownModelError(`no model named ${JSON.stringify(name)}`);
        return { model: name, ...entry.observations.since(since) };
      }
    }
  }
  throw new NoRouteError(`no admin route for ${target.method} ${target.raw.split('?')[0]}`);
}
