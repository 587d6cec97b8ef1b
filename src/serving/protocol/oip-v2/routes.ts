import { MODELSHIP_VERSION } from '../../../paths.js';
import { NotReadyError, TargetNotLoadedError, UnknownModelError, UnsupportedEncodingError } from '../../../errors/index.js';
import { sendJson } from '../../http/body.js';
import type { Mount } from '../../http/mount.js';
import { route, type RouteCall } from '../../http/route-table.js';
import type { ProtocolDeps } from '../deps.js';
import { routingFromHeaders } from '../inference-headers.js';
import { encodeOipResponse, INFERENCE_HEADER_LENGTH, oipFeeds, parseOipRequest } from './codec.js';
import { sendOipError } from './error-body.js';
import { addressed, modelMetadata } from './metadata.js';

/** Protocol extensions this server implements (server metadata). */
export const OIP_EXTENSIONS = ['binary_tensor_data'] as const;

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
export function oipV2Mount(deps: ProtocolDeps): Mount {
  const infer = async ({ req, res, params, body }: RouteCall) => {
    const { name, version } = params as { name: string; version?: string };
    const routing = routingFromHeaders(req.headers, version);
    if (!deps.catalog.get(name)) throw new UnknownModelError(`no model named ${JSON.stringify(name)}`);
    if (req.headers['content-encoding'] !== undefined && req.headers['content-encoding'] !== 'identity') {
      throw new UnsupportedEncodingError(`content-encoding ${req.headers['content-encoding']} is not supported; send the body uncompressed`);
    }
    const request = parseOipRequest(await body(), req.headers[INFERENCE_HEADER_LENGTH]);
    const answer = await deps.inference.run(name, routing, (model) => oipFeeds(request, model.manifest.signature.inputs, model.session.outputNames));
    const encoded = encodeOipResponse(request, answer);
    const headers: Record<string, string | number> = { 'content-length': Buffer.byteLength(encoded.body), 'cache-control': 'no-store', 'x-modelship-slot': answer.slot, 'x-modelship-version': answer.ref.version };
    for (const key in encoded.headers) headers[key] = encoded.headers[key]!;
    res.writeHead(200, headers);
    res.end(encoded.body);
  };
  const modelReady = async ({ res, params }: RouteCall) => {
    const { name, version } = params as { name: string; version?: string };
    const entry = requireEntry(deps, name);
    // 200 means ready; the protocol answers not-ready with a 4xx. Unversioned requests need a stable release.
    if (!(version ? addressed(entry, version) : entry.slots.stable.model)) {
      throw new NotReadyError(`${name}${version ? ` version ${version}` : ''} is not ready: ${version ? 'no slot holds that version' : 'no stable release is loaded'}`, 400);
    }
    sendJson(res, 200, { name, ...(version ? { version } : {}), ready: true });
  };
  const metadata = async ({ res, params }: RouteCall) => {
    const { name, version } = params as { name: string; version?: string };
    const entry = requireEntry(deps, name);
    const model = addressed(entry, version);
    if (!model) throw new TargetNotLoadedError(version ? `${name} has no version ${JSON.stringify(version)} loaded` : `${name} has no release loaded`);
    sendJson(res, 200, modelMetadata(entry, model));
  };
  return {
    name: 'oip-v2',
    prefix: '/v2',
    bodyLimit: deps.limits.maxInferBodyBytes,
    sendError: sendOipError,
    routes: [
      route('GET', '/v2', async ({ res }) => sendJson(res, 200, { name: 'modelship', version: MODELSHIP_VERSION, extensions: OIP_EXTENSIONS })),
      route('GET', '/v2/health/live', async ({ res }) => sendJson(res, 200, { live: true })),
      route('GET', '/v2/health/ready', async ({ res }) => {
        const notServing = deps.catalog.statusAll().filter((m) => m.slots.stable?.state === 'failed').map((m) => m.name);
        if (notServing.length) throw new NotReadyError(`not ready: the stable release of ${notServing.join(', ')} failed to load`, 503);
        sendJson(res, 200, { ready: true });
      }),
      ...['/v2/models/{name}', '/v2/models/{name}/versions/{version}'].flatMap((base) => [
        route('GET', base, metadata),
        route('GET', `${base}/ready`, modelReady),
        route('POST', `${base}/infer`, infer),
      ]),
    ],
  };
}

function requireEntry(deps: ProtocolDeps, name: string) {
  const entry = deps.catalog.get(name);
  if (!entry) throw new UnknownModelError(`no model named ${JSON.stringify(name)}`);
  return entry;
}
