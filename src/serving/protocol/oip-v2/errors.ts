import type { ServerResponse } from 'node:http';
import { ServingHttpError } from '../../errors.js';
import { sendJson } from '../../http/body.js';

export class NotReadyError extends ServingHttpError {
  readonly type = 'NotReady';
  readonly retryable = true;
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

export class UnsupportedEncodingError extends ServingHttpError {
  readonly type = 'UnsupportedEncoding';
  readonly retryable = false;
  readonly status = 415;
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
