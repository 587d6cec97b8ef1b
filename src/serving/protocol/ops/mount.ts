import { sendJson } from '../../http/body.js';
import type { Mount } from '../../http/mount.js';
import { route } from '../../http/route-table.js';
import type { ProtocolDeps } from '../deps.js';

/** The root mount: liveness for load balancers and Prometheus' scrape target. */
export function opsMount(deps: ProtocolDeps): Mount {
  return {
    name: 'ops',
    prefix: '',
    bodyLimit: 0,
    routes: [
      route('GET', '/healthz', async ({ res }) => sendJson(res, 200, { status: 'ok' })),
      route('GET', '/metrics', async ({ res }) => {
        const text = await deps.metrics.render();
        res.writeHead(200, { 'content-type': deps.metrics.contentType, 'cache-control': 'no-store' });
        res.end(text);
      }),
    ],
  };
}
