import type { IncomingMessage } from 'node:http';
import { InvalidRequestError } from '../../errors/index.js';

/** A request's method and path, split into decoded segments. */
export interface RequestPath {
  readonly method: string;
  /** The request target exactly as sent (what admin signatures cover). */
  readonly raw: string;
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
}

export function parseRequestPath(req: IncomingMessage): RequestPath {
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  let segments: string[];
  try {
    segments = path.split('/').slice(1);
    if (path.includes('%')) segments = segments.map((s) => decodeURIComponent(s));
  } catch {
    throw new InvalidRequestError(`the path ${JSON.stringify(path)} is not valid percent-encoding`);
  }
  if (segments.length && segments[segments.length - 1] === '') segments.pop();
  let query: URLSearchParams | undefined;
  return {
    method: req.method ?? 'GET',
    raw,
    segments,
    // Parsed on first use: inference requests never read it.
    get query() {
      return (query ??= new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)));
    },
  };
}
