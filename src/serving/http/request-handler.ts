import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../logger.js';
import { errorMessage, NoRouteError, PayloadTooLargeError, ServingHttpError } from '../../errors/index.js';
import { readBody, sendError } from './body.js';
import { byLongestPrefix, sortedMountFor, type Mount, type RequestContext } from './mount.js';
import { parseRequestPath } from './request-path.js';
import { recordRoute } from './request-tracing.js';
import { findRoute } from './route-table.js';

/**
 * The one entry point for every request (the place for middleware such as tracing): picks the
 * protocol mount by path prefix, runs its guard, matches its route table, and writes any error
 * in that protocol's error body.
 */
export function createRequestHandler(mounts: readonly Mount[], logger: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  const sorted = byLongestPrefix(mounts);
  return (req, res) => {
    const mount = sortedMountFor(sorted, req.url ?? '/');
    handle(mount, req, res).catch((err: unknown) => {
      if (!(err instanceof ServingHttpError)) logger.error({ err: errorMessage(err), method: req.method, url: req.url }, 'unexpected error handling a request');
      // After a refused body the rest of it is not read: close the connection rather than drain it.
      const headers: Record<string, string> = err instanceof PayloadTooLargeError ? { connection: 'close' } : {};
      (mount?.sendError ?? sendError)(res, err, headers);
    });
  };
}

async function handle(mount: Mount | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = parseRequestPath(req);
  if (!mount) throw new NoRouteError(`no route for ${path.method} ${path.raw.split('?')[0]}`);
  let body: Promise<Buffer> | undefined;
  const readOnce = () => (body ??= readBody(req, mount.bodyLimit));
  if (mount.guard && !(await mount.guard({ req, res, path, body: readOnce }))) return;
  const { route, params } = findRoute(mount.routes, path);
  recordRoute(req, route.pattern);
  await route.handler({ req, res, path, body: readOnce, params });
}
