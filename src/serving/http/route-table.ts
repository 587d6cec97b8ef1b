import type { IncomingMessage, ServerResponse } from 'node:http';
import { MethodNotAllowedError, NoRouteError, ServingHttpError } from '../../errors/index.js';
import type { RequestPath } from './request-path.js';



/** What a mount's guard and handlers see: the request, its parsed path, and its body (read once, on demand). */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly path: RequestPath;
  /** The body, at most the mount's `bodyLimit` bytes; memoized, so a guard and a handler can both read it. */
  body(): Promise<Buffer>;
}

/** A matched request: its context and the route pattern's `{param}` values. */
export interface RouteCall extends RequestContext {
  readonly params: Readonly<Record<string, string>>;
}

export type RouteHandler = (call: RouteCall) => Promise<void>;

/** A declarative route: `pattern` is a path of literal segments and `{param}` placeholders. */
export interface Route {
  readonly method: string;
  readonly pattern: string;
  readonly handler: RouteHandler;
}

export const route = (method: string, pattern: string, handler: RouteHandler): Route => ({ method, pattern, handler });

/** A pattern split once: each segment a literal, or the name of a `{param}`. */
type CompiledPattern = readonly { readonly literal?: string; readonly param?: string }[];
const compiled = new Map<string, CompiledPattern>();
const EMPTY_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

function compile(pattern: string): CompiledPattern {
  let parts = compiled.get(pattern);
  if (!parts) {
    parts = pattern
      .split('/')
      .slice(1)
      .filter((p) => p !== '')
      .map((part) => (part.startsWith('{') && part.endsWith('}') ? { param: part.slice(1, -1) } : { literal: part }));
    compiled.set(pattern, parts);
  }
  return parts;
}

/** Placeholders match one decoded segment each; literals match exactly. */
function matchPattern(pattern: string, segments: readonly string[]): Readonly<Record<string, string>> | undefined {
  const parts = compile(pattern);
  if (parts.length !== segments.length) return undefined;
  let hasParams = false;
  for (let i = 0; i < parts.length; i++) {
    if (parts[i]!.literal === undefined) hasParams = true;
    else if (parts[i]!.literal !== segments[i]) return undefined;
  }
  // A pattern without {param} segments (health, server metadata) shares EMPTY_PARAMS: no object per request.
  if (!hasParams) return EMPTY_PARAMS;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) if (parts[i]!.param !== undefined) params[parts[i]!.param!] = segments[i]!;
  return params;
}

/**
 * The route for a request: the first whose pattern and method match. A path some route knows
 * under other methods is a 405 naming them (its `allow` member); an unknown path is a 404.
 */
export function findRoute(routes: readonly Route[], path: RequestPath): { route: Route; params: Readonly<Record<string, string>> } {
  const allowed: string[] = [];
  for (const candidate of routes) {
    const params = matchPattern(candidate.pattern, path.segments);
    if (!params) continue;
    if (candidate.method === path.method) return { route: candidate, params };
    if (!allowed.includes(candidate.method)) allowed.push(candidate.method);
  }
  const shown = path.raw.split('?')[0];
  if (allowed.length) throw new MethodNotAllowedError(`${path.method} is not allowed on ${shown} (allowed: ${allowed.join(', ')})`, { allow: allowed });
  throw new NoRouteError(`no route for ${path.method} ${shown}`);
}
