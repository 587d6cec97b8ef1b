import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../logger.js';
import { errorMessage } from '../../errors.js';
import type { AdminAuthenticator } from '../protocol/admin/auth.js';
import type { AdminKeyring } from '../protocol/admin/keyring.js';
import type { ServingLimits } from '../config.js';
import { InvalidRequestError, PayloadTooLargeError, ServingHttpError, UnknownModelError } from '../errors.js';
import { parseJson, readBody, sendError, sendJson } from './body.js';
import { handleOip, sendOipError } from '../protocol/oip-v2/routes.js';
import { routingFromHeaders } from '../protocol/inference-headers.js';
import { allow, NoRouteError, parseRequestPath, type RequestPath } from './request-path.js';
import { outputsToJson, parseInferenceBody } from '../protocol/json-tensors.js';
import type { InferenceService } from '../dataplane/inference.js';
import type { ServingMetrics } from '../metrics.js';
import type { SlotName } from '../control/model-slot.js';
import type { ModelCatalog } from '../control/model-catalog.js';

export { MAX_REQUEST_KEY_LENGTH, REQUEST_KEY_HEADER, SLOT_HEADER } from '../protocol/inference-headers.js';

export interface RouteDeps {
  readonly catalog: ModelCatalog;
  readonly inference: InferenceService;
  readonly auth: AdminAuthenticator;
  readonly keyring: AdminKeyring;
  readonly metrics: ServingMetrics;
  readonly logger: Logger;
  readonly limits: ServingLimits;
}

/** The request handler: inference, metrics, health, and the signed admin API. */
export function createRequestHandler(deps: RouteDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((err: unknown) => {
      if (!(err instanceof ServingHttpError)) deps.logger.error({ err: errorMessage(err), method: req.method, url: req.url }, 'unexpected error handling a request');
      // After a refused body the rest of it is not read: close the connection rather than drain it.
      const headers: Record<string, string> = err instanceof PayloadTooLargeError ? { connection: 'close' } : {};
      if (req.url?.startsWith('/v2')) sendOipError(res, err, headers);
      else sendError(res, err, headers);
    });
  };
}

async function handle(deps: RouteDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const target = parseRequestPath(req);
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
  if (first === 'v2') return handleOip(deps, target, req, res);
  // POST /v1/models/{name}/infer: deprecated, the same inference path as /v2 with the older JSON shape.
  if (first === 'v1' && second === 'models' && target.segments.length === 4 && target.segments[3] === 'infer') {
    allow(target, 'POST');
    const model = third!;
    const routing = routingFromHeaders(req.headers);
    if (!deps.catalog.get(model)) throw new UnknownModelError(`no model named ${JSON.stringify(model)}`);
    const body = parseJson(await readBody(req, deps.limits.maxInferBodyBytes));
    const answer = await deps.inference.run(model, routing, (m) => parseInferenceBody(body, m.manifest.signature.inputs));
    const outputs = outputsToJson(answer.results, answer.outputNames);
    return sendJson(
      res,
      200,
      { model, slot: answer.slot, routedBy: answer.routedBy, version: answer.ref.version, digest: answer.ref.digest, outputs, latencyMs: answer.latencyMs },
      { deprecation: 'true', link: `</v2/models/${encodeURIComponent(model)}/infer>; rel="successor-version"` },
    );
  }
  if (first === 'admin') {
    // Every admin request is authenticated before anything else, so unsigned callers learn nothing (not even which models exist).
    const body = await readBody(req, deps.limits.maxAdminBodyBytes);
    const verdict = deps.auth.verify(target.method, target.raw, req.headers, body, await deps.keyring.keys());
    if (!verdict.ok) {
      deps.logger.warn({ method: target.method, path: target.raw.split('?')[0], remote: req.socket.remoteAddress, reason: verdict.reason }, 'admin request refused');
      return sendJson(res, verdict.status, { error: verdict.reason, type: 'AdminAuthError' });
    }
    deps.logger.debug({ method: target.method, path: target.raw.split('?')[0], kid: verdict.kid }, 'admin request accepted');
    if (second === 'v1' && third === 'models') {
      return sendJson(res, 200, await admin(deps, target, name, action, rest, body));
    }
  }
  throw new NoRouteError(`no route for ${target.method} ${target.raw.split('?')[0]}`);
}

async function admin(deps: RouteDeps, target: RequestPath, name: string | undefined, action: string | undefined, rest: readonly string[], body: Buffer): Promise<unknown> {
  const { catalog } = deps;
  const json = () => {
    const value = parseJson(body);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidRequestError('the body must be a JSON object');
    return value as Record<string, unknown>;
  };
  if (name === undefined) {
    allow(target, 'GET');
    return { models: catalog.statusAll() };
  }
  if (action === undefined) {
    allow(target, 'GET');
    return catalog.status(name);
  }
  if (action === 'slots' && rest.length === 1 && (rest[0] === 'stable' || rest[0] === 'canary')) {
    allow(target, 'PUT');
    return catalog.deploy(name, rest[0] as SlotName, json());
  }
  if (rest.length === 0) {
    switch (action) {
      case 'weight':
        allow(target, 'PUT');
        return catalog.setWeight(name, json().canaryWeight);
      case 'shadow':
        allow(target, 'PUT');
        return catalog.setShadow(name, json().enabled);
      case 'promote':
        allow(target, 'POST');
        return catalog.promote(name);
      case 'rollback':
        allow(target, 'POST');
        return catalog.rollback(name);
      case 'observations': {
        allow(target, 'GET');
        const sinceText = target.query.get('since') ?? '0';
        const since = Number(sinceText);
        if (!/^\d{1,16}$/.test(sinceText)) throw new InvalidRequestError(`since must be unix milliseconds, got ${JSON.stringify(sinceText)}`);
        const entry = catalog.get(name);
        if (!entry) throw new UnknownModelError(`no model named ${JSON.stringify(name)}`);
        return { model: name, ...entry.observations.since(since) };
      }
    }
  }
  throw new NoRouteError(`no admin route for ${target.method} ${target.raw.split('?')[0]}`);
}
