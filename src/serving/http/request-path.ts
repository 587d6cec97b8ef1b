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
  return new ParsedRequestPath(req.method ?? 'GET', raw, segments, q);
}

/** A class rather than an object literal with a getter: no closure and no new object shape per request. */
class ParsedRequestPath implements RequestPath {
  private parsedQuery: URLSearchParams | undefined;

  constructor(
    readonly method: string,
    readonly raw: string,
    readonly segments: readonly string[],
    private readonly queryAt: number,
  ) {}

  /** Parsed on first use: inference requests never read it. */
  get query(): URLSearchParams {
    return (this.parsedQuery ??= new URLSearchParams(this.queryAt < 0 ? '' : this.raw.slice(this.queryAt + 1)));
  }
}
