import type { ServerResponse } from 'node:http';
import type { RequestContext, Route } from './route-table.js';

export type { RequestContext } from './route-table.js';

export type ErrorWriter = (res: ServerResponse, err: unknown, headers?: Record<string, string>) => void;

/**
 * One protocol's place in the URL space: the routes under `prefix`, how their errors are written
 * (each protocol has its own error body), and an optional guard run before any route is matched
 * (admin authentication, so unsigned callers learn not even which routes exist). A guard that
 * answered the request itself returns false.
 */
export interface Mount {
  readonly name: string;
  /** `/v2`, `/admin`; `''` for the root mount, which takes what no other prefix claims. */
  readonly prefix: string;
  readonly routes: readonly Route[];
  readonly bodyLimit: number;
  readonly sendError?: ErrorWriter;
  readonly guard?: (ctx: RequestContext) => Promise<boolean>;
}

const claims = (prefix: string, url: string) => prefix === '' || url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`);

/** The mount whose prefix claims the URL, the longest prefix first. */
export function mountFor(mounts: readonly Mount[], url: string): Mount | undefined {
  return byLongestPrefix(mounts).find((m) => claims(m.prefix, url));
}

/** The mounts, longest prefix first (what `mountFor` tries in order). */
export function byLongestPrefix(mounts: readonly Mount[]): readonly Mount[] {
  return [...mounts].sort((a, b) => b.prefix.length - a.prefix.length);
}

/** `mountFor` over mounts already in `byLongestPrefix` order: no sort per request. */
export function sortedMountFor(sorted: readonly Mount[], url: string): Mount | undefined {
  for (const m of sorted) if (claims(m.prefix, url)) return m;
  return undefined;
}
