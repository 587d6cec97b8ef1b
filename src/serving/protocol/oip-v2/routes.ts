import type { IncomingMessage, ServerResponse } from 'node:http';
import { MODELSHIP_VERSION } from '../../../paths.js';
import type { TensorSignature } from '../../../release/types.js';
import { ServingHttpError, TargetNotLoadedError, UnknownModelError } from '../../errors.js';
import { readBody, sendJson } from '../../http/body.js';
import type { LoadedModel } from '../../control/loaded-model.js';
import { SLOT_NAMES } from '../../control/model-slot.js';
import { encodeOipResponse, INFERENCE_HEADER_LENGTH, oipFeeds, parseOipRequest } from './codec.js';
import { oipDatatypeOf } from './datatypes.js';
import type { ModelEntry } from '../../control/model-catalog.js';
import { routingFromHeaders } from '../inference-headers.js';
import { allow, NoRouteError, type RequestPath } from '../../http/request-path.js';
import type { RouteDeps } from '../../http/request-handler.js';

/** Protocol extensions this server implements (server metadata). */
export const OIP_EXTENSIONS = ['binary_tensor_data'] as const;

/** The platform name KServe and Triton use for ONNX models. */
const PLATFORM = 'onnxruntime_onnx';

class NotReadyError extends ServingHttpError {
  readonly type = 'NotReady';
  readonly retryable = true;
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

/** The protocol's error body: `{ "error": "<message>" }` and nothing else. */
export function sendOipError(res: ServerResponse, err: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof ServingHttpError) sendJson(res, err.status, { error: err.message }, headers);
  else sendJson(res, 500, { error: 'internal error' }, headers);
}

/**
 * Open Inference Protocol v2 over REST:
 *   GET  /v2                       server metadata
 *   GET  /v2/health/live | ready
 *   GET  /v2/models/{m}[/versions/{v}]          model metadata
 *   GET  /v2/models/{m}[/versions/{v}]/ready
 *   POST /v2/models/{m}[/versions/{v}]/infer
 * Without a version the canary split (sticky by x-request-key) decides; a version, or
 * x-modelship-slot, forces the slot holding it.
 */
export async function handleOip(deps: RouteDeps, target: RequestPath, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const s = target.segments;
  if (s.length === 1) {
    allow(target, 'GET');
    return sendJson(res, 200, { name: 'modelship', version: MODELSHIP_VERSION, extensions: OIP_EXTENSIONS });
  }
  if (s[1] === 'health' && s.length === 3 && (s[2] === 'live' || s[2] === 'ready')) {
    allow(target, 'GET');
    if (s[2] === 'live') return sendJson(res, 200, { live: true });
    const notServing = deps.catalog.statusAll().filter((m) => m.slots.stable?.state === 'failed').map((m) => m.name);
    if (notServing.length) throw new NotReadyError(`not ready: the stable release of ${notServing.join(', ')} failed to load`, 503);
    return sendJson(res, 200, { ready: true });
  }
  if (s[1] !== 'models' || s.length < 3) throw new NoRouteError(`no route for ${target.method} ${target.raw.split('?')[0]}`);
  const name = s[2]!;
  let rest = s.slice(3);
  let version: string | undefined;
  if (rest[0] === 'versions') {
    if (rest.length < 2) throw new NoRouteError(`no route for ${target.method} ${target.raw.split('?')[0]}: a version is missing after /versions`);
    version = rest[1]!;
    rest = rest.slice(2);
  }
  if (rest.length > 1 || (rest.length === 1 && rest[0] !== 'ready' && rest[0] !== 'infer')) throw new NoRouteError(`no route for ${target.method} ${target.raw.split('?')[0]}`);

  if (rest[0] === 'infer') {
    allow(target, 'POST');
    const routing = routingFromHeaders(req.headers, version);
    if (!deps.catalog.get(name)) throw new UnknownModelError(`no model named ${JSON.stringify(name)}`);
    if (req.headers['content-encoding'] !== undefined && req.headers['content-encoding'] !== 'identity') {
      throw new UnsupportedEncodingError(`content-encoding ${req.headers['content-encoding']} is not supported; send the body uncompressed`);
    }
    const request = parseOipRequest(await readBody(req, deps.limits.maxInferBodyBytes), req.headers[INFERENCE_HEADER_LENGTH]);
    const answer = await deps.inference.run(name, routing, (model) => oipFeeds(request, model.manifest.signature.inputs, model.session.outputNames));
    const { headers, body } = encodeOipResponse(request, answer);
    res.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', 'x-modelship-slot': answer.slot, 'x-modelship-version': answer.ref.version });
    res.end(body);
    return;
  }

  allow(target, 'GET');
  const entry = deps.catalog.get(name);
  if (!entry) throw new UnknownModelError(`no model named ${JSON.stringify(name)}`);
  const model = addressed(entry, version);
  if (rest[0] === 'ready') {
    // 200 means ready; the protocol answers not-ready with a 4xx. Unversioned requests need a stable release.
    if (!(version ? model : entry.slots.stable.model)) throw new NotReadyError(`${name}${version ? ` version ${version}` : ''} is not ready: ${version ? 'no slot holds that version' : 'no stable release is loaded'}`, 400);
    return sendJson(res, 200, { name, ...(version ? { version } : {}), ready: true });
  }
  if (!model) throw new TargetNotLoadedError(version ? `${name} has no version ${JSON.stringify(version)} loaded` : `${name} has no release loaded`);
  const signature = model.manifest.signature;
  return sendJson(res, 200, {
    name,
    versions: SLOT_NAMES.map((slot) => entry.slots[slot].model?.ref.version).filter((v, i, all): v is string => v !== undefined && all.indexOf(v) === i),
    platform: PLATFORM,
    inputs: signature.inputs.map(tensorMetadata),
    outputs: signature.outputs.map(tensorMetadata),
    parameters: { version: model.ref.version, digest: model.ref.digest },
  });
}

class UnsupportedEncodingError extends ServingHttpError {
  readonly type = 'UnsupportedEncoding';
  readonly retryable = false;
  readonly status = 415;
}

/** The model a version names, or without one the model unversioned requests reach (stable; canary when there is no stable). */
function addressed(entry: ModelEntry, version: string | undefined): LoadedModel | undefined {
  if (version === undefined) return entry.slots.stable.model ?? entry.slots.canary.model;
  return SLOT_NAMES.map((s) => entry.slots[s].model).find((m) => m?.ref.version === version);
}

/** `{ name, datatype, shape }` with symbolic dimensions as -1 (the protocol's "any size"). */
function tensorMetadata(t: TensorSignature): { name: string; datatype: string; shape: number[] } {
  return { name: t.name, datatype: oipDatatypeOf(t.type) ?? t.type.toUpperCase(), shape: t.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
}
