import { parseJson, sendJson } from '../../http/body.js';
import type { Mount } from '../../http/mount.js';
import { route } from '../../http/route-table.js';
import { UnknownModelError } from '../../../errors/index.js';
import type { ProtocolDeps } from '../deps.js';
import { routingFromHeaders } from '../inference-headers.js';
import { outputsToJson, parseInferenceBody } from '../json-tensors.js';

/**
 * The deprecated v1 protocol: `POST /v1/models/{name}/infer` with `{ inputs: { name: { dims, data } } }`.
 * The same inference path as /v2; answers carry `deprecation` and a link to the successor.
 */
export function v1Mount(deps: ProtocolDeps): Mount {
  return {
    name: 'v1',
    prefix: '/v1',
    bodyLimit: deps.limits.maxInferBodyBytes,
    routes: [
      route('POST', '/v1/models/{name}/infer', async ({ req, res, params, body }) => {
        const model = params.name!;
        const routing = routingFromHeaders(req.headers);
        if (!deps.catalog.get(model)) throw new UnknownModelError(`no model named ${JSON.stringify(model)}`);
        const json = parseJson(await body());
        const answer = await deps.inference.run(model, routing, (m) => parseInferenceBody(json, m.manifest.signature.inputs));
        const outputs = outputsToJson(answer.results, answer.outputNames);
        sendJson(
          res,
          200,
          { model, slot: answer.slot, routedBy: answer.routedBy, version: answer.ref.version, digest: answer.ref.digest, outputs, latencyMs: answer.latencyMs },
          { deprecation: 'true', link: `</v2/models/${encodeURIComponent(model)}/infer>; rel="successor-version"` },
        );
      }),
    ],
  };
}
