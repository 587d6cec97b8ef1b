import { sendJson } from '../../http/body.js';
import type { Mount, RequestContext } from '../../http/mount.js';
import { route, type RouteCall } from '../../http/route-table.js';
import { SLOT_NAMES } from '../../control/model-slot.js';
import { countRefusedDeploy } from '../../control/model-names.js';
import { UnknownModelError } from '../../../errors/index.js';
import type { ProtocolDeps } from '../deps.js';
import type { AdminAuthenticator } from './auth.js';
import { parseDeployBody, parseShadowBody, parseSince, parseWeightBody } from './bodies.js';
import type { AdminKeyring } from './keyring.js';

export interface AdminDeps extends ProtocolDeps {
  readonly auth: AdminAuthenticator;
  readonly keyring: AdminKeyring;
}

const BASE = '/admin/v1/models';

/** The signed admin API: status, deploys, the traffic split, shadow mode, promote, rollback, observations. */
export function adminMount(deps: AdminDeps): Mount {
  const { catalog } = deps;
  const json = (answer: (call: RouteCall) => Promise<unknown> | unknown) => async (call: RouteCall) => sendJson(call.res, 200, await answer(call));
  return {
    name: 'admin',
    prefix: '/admin',
    bodyLimit: deps.limits.maxAdminBodyBytes,
    guard: (ctx) => authenticate(deps, ctx),
    routes: [
      route('GET', BASE, json(() => ({ models: catalog.statusAll() }))),
      route('GET', `${BASE}/{name}`, json(({ params }) => catalog.status(params.name!))),
      ...SLOT_NAMES.map((slot) =>
        route('PUT', `${BASE}/{name}/slots/${slot}`, json(async ({ params, body }) => {
          const raw = await body();
          let target;
          try {
            target = parseDeployBody(raw);
          } catch (err) {
            // A malformed deploy is a refused deploy too (the alert counts every refusal).
            countRefusedDeploy(deps.metrics, params.name!, slot, err);
            throw err;
          }
          return catalog.deploy(params.name!, slot, target);
        })),
      ),
      route('PUT', `${BASE}/{name}/weight`, json(async ({ params, body }) => catalog.setWeight(params.name!, parseWeightBody(await body())))),
      route('PUT', `${BASE}/{name}/shadow`, json(async ({ params, body }) => catalog.setShadow(params.name!, parseShadowBody(await body())))),
      route('POST', `${BASE}/{name}/promote`, json(({ params }) => catalog.promote(params.name!))),
      route('POST', `${BASE}/{name}/rollback`, json(({ params }) => catalog.rollback(params.name!))),
      route('GET', `${BASE}/{name}/observations`, json(({ params, path }) => {
        const since = parseSince(path.query);
        const entry = catalog.get(params.name!);
        if (!entry) throw new UnknownModelError(`no model named ${JSON.stringify(params.name)}`);
        return { model: params.name, ...entry.observations.since(since) };
      })),
    ],
  };
}

/** Every admin request is authenticated before routing, so unsigned callers learn nothing (not even which models exist). */
async function authenticate(deps: AdminDeps, { req, res, path, body }: RequestContext): Promise<boolean> {
  const verdict = deps.auth.verify(path.method, path.raw, req.headers, await body(), await deps.keyring.keys());
  const shown = path.raw.split('?')[0];
  if (!verdict.ok) {
    deps.logger.warn({ method: path.method, path: shown, remote: req.socket.remoteAddress, reason: verdict.reason }, 'admin request refused');
    sendJson(res, verdict.status, { error: verdict.reason, type: 'AdminAuthError' });
    return false;
  }
  deps.logger.debug({ method: path.method, path: shown, kid: verdict.kid }, 'admin request accepted');
  return true;
}
