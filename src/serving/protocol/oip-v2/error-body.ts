import type { ServerResponse } from 'node:http';
import { ServingHttpError } from '../../../errors/index.js';
import { sendJson } from '../../http/body.js';

/** The protocol's error body: `{ "error": "<message>" }` and nothing else. */
export function sendOipError(res: ServerResponse, err: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof ServingHttpError) sendJson(res, err.status, { error: err.message }, headers);
  else sendJson(res, 500, { error: 'internal error' }, headers);
}
