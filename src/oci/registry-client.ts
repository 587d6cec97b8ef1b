import { Readable } from 'node:stream';
import {
  ArtifactNotFoundError,
  RegistryAuthError,
  RegistryProtocolError,
  RegistryUnavailableError,
  errorMessage,
} from '../errors/index.js';
import { credentialsFor, type Credentials } from './credentials.js';

export interface RegistryClientOptions {
  /** `host[:port]` as in a reference. */
  readonly registry: string;
  /** Speak http instead of https. Default: true for loopback hosts (localhost, 127.x, ::1), false otherwise. */
  readonly plainHttp?: boolean;
  /** Default: from the environment or a Docker config.json (see credentials.ts); null for none. */
  readonly credentials?: Credentials | null;
}

export interface RegistryRequest {
  readonly method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** A path under the registry (`/v2/...`) or an absolute URL (upload locations). */
  readonly path: string;
  /** The repository the request is for: scope of a bearer token. */
  readonly repository: string;
  readonly push?: boolean;
  readonly headers?: Record<string, string>;
  /** A buffer can be sent again after an auth challenge; a stream cannot, so auth is settled first. */
  readonly body?: Buffer | Readable;
  /** Statuses that are an answer, not an error (e.g. 404 for HEAD of a blob we may lack). */
  readonly accept?: readonly number[];
  readonly signal?: AbortSignal;
}

export function isLoopback(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Challenge from WWW-Authenticate: `Basic realm=…` or `Bearer realm=…,service=…,scope=…`. */
interface Challenge {
  readonly scheme: 'basic' | 'bearer';
  readonly params: Record<string, string>;
}

function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)="([^"]*)"/g)) params[p[1]!.toLowerCase()] = p[2]!;
  return { scheme, params };
}

/**
 * The OCI distribution API over fetch, with the auth it needs: basic when the registry asks
 * for it, and the bearer-token challenge flow (token endpoint with the basic credentials, one
 * token per scope). Network failures and 5xx/429 are RegistryUnavailableError (retryable) naming
 * the registry; refused credentials are RegistryAuthError (not retryable), never naming them.
 */
export class RegistryClient {
  readonly registry: string;
  readonly baseUrl: string;
  private readonly credentials: Credentials | undefined;
  /** Decided once the registry has challenged us. */
  private scheme: 'none' | 'basic' | 'bearer' = 'none';
  private bearer?: Record<string, string>;
  private readonly tokens = new Map<string, string>();

  constructor(options: RegistryClientOptions) {
    this.registry = options.registry;
    const plain = options.plainHttp ?? (process.env.MODELSHIP_REGISTRY_PLAIN_HTTP !== undefined ? process.env.MODELSHIP_REGISTRY_PLAIN_HTTP === '1' : isLoopback(options.registry));
    this.baseUrl = `${plain ? 'http' : 'https'}://${options.registry}`;
    this.credentials = options.credentials === null ? undefined : (options.credentials ?? credentialsFor(options.registry));
  }

  private scopeFor(repository: string, push: boolean): string {
    return `repository:${repository}:${push ? 'pull,push' : 'pull'}`;
  }

  private async authHeader(repository: string, push: boolean, signal?: AbortSignal): Promise<string | undefined> {
    if (this.scheme === 'basic' && this.credentials) return `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    if (this.scheme === 'bearer') {
      const scope = this.scopeFor(repository, push);
      let token = this.tokens.get(scope);
      if (!token) {
        token = await this.fetchToken(scope, signal);
        this.tokens.set(scope, token);
      }
      return `Bearer ${token}`;
    }
    return undefined;
  }

  private async fetchToken(scope: string, signal?: AbortSignal): Promise<string> {
    const realm = this.bearer?.realm;
    if (!realm) throw new RegistryProtocolError(`registry ${this.registry} asked for a bearer token without a realm`);
    const url = new URL(realm);
    if (this.bearer?.service) url.searchParams.set('service', this.bearer.service);
    url.searchParams.set('scope', scope);
    const headers: Record<string, string> = {};
    if (this.credentials) headers.authorization = `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    const res = await this.send(url.toString(), { method: 'GET', headers, ...(signal ? { signal } : {}) });
    if (res.status === 401 || res.status === 403) throw this.authError(res.status);
    if (!res.ok) throw this.statusError(res, await res.text().catch(() => ''), `token from ${url.origin}${url.pathname}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryProtocolError(`the token endpoint of registry ${this.registry} returned no token`);
    return token;
  }

  private authError(status: number): RegistryAuthError {
    const how = this.credentials ? `refused the credentials from ${this.credentials.source}` : 'needs credentials and none are configured (set MODELSHIP_REGISTRY_USERNAME and MODELSHIP_REGISTRY_PASSWORD, or log in with a Docker-style config.json)';
    return new RegistryAuthError(`registry ${this.registry} ${how} (HTTP ${status})`);
  }

  private statusError(res: Response, body: string, what: string): Error {
    let detail = body.slice(0, 300);
    try {
      const errors = (JSON.parse(body) as { errors?: Array<{ code?: string; message?: string }> }).errors;
      if (errors?.length) detail = errors.map((e) => `${e.code}: ${e.message}`).join('; ');
    } catch {
      // not JSON: the text is the detail
    }
    const message = `registry ${this.registry}: ${what}: HTTP ${res.status}${detail ? ` (${detail.trim()})` : ''}`;
    if (res.status >= 500 || res.status === 429 || res.status === 408) return new RegistryUnavailableError(message);
    if (res.status === 404) return new ArtifactNotFoundError(message);
    if (res.status === 401 || res.status === 403) return this.authError(res.status);
    return new RegistryProtocolError(message);
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, init);
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new RegistryUnavailableError(`registry ${this.registry} is unreachable (${cause?.code ?? cause?.message ?? errorMessage(err)})`, { cause: err });
    }
  }

  /** One request, answering an auth challenge once. Returns the response for 2xx and `accept`ed statuses. */
  async request(req: RegistryRequest): Promise<Response> {
    const url = /^https?:\/\//.test(req.path) ? req.path : `${this.baseUrl}${req.path}`;
    if (req.body instanceof Readable && this.scheme === 'none') await this.settleAuth(req);
    for (let attempt = 0; ; attempt++) {
      const auth = await this.authHeader(req.repository, req.push ?? false, req.signal);
      const headers: Record<string, string> = { ...(req.headers ?? {}), ...(auth ? { authorization: auth } : {}) };
      const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers, redirect: 'follow', ...(req.signal ? { signal: req.signal } : {}) };
      if (req.body !== undefined) {
        init.body = req.body as unknown as RequestInit['body'];
        if (req.body instanceof Readable) init.duplex = 'half';
      }
      const res = await this.send(url, init);
      if (res.status === 401 && attempt === 0 && !(req.body instanceof Readable)) {
        const challenge = parseChallenge(res.headers.get('www-authenticate'));
        await res.body?.cancel();
        if (!challenge) throw this.authError(401);
        if (!this.credentials && challenge.scheme === 'basic') throw this.authError(401);
        this.adopt(challenge, req);
        continue;
      }
      if (res.ok || req.accept?.includes(res.status)) return res;
      const body = req.method === 'HEAD' ? '' : await res.text().catch(() => '');
      throw this.statusError(res, body, `${req.method} ${new URL(url).pathname}`);
    }
  }

  private adopt(challenge: Challenge, req: RegistryRequest): void {
    if (challenge.scheme === 'basic') this.scheme = 'basic';
    else {
      this.scheme = 'bearer';
      this.bearer = challenge.params;
      this.tokens.delete(this.scopeFor(req.repository, req.push ?? false));
    }
  }

  /** Before a streamed body (which cannot be sent twice), learn what auth the registry wants. */
  private async settleAuth(req: RegistryRequest): Promise<void> {
    const res = await this.send(`${this.baseUrl}/v2/`, { method: 'GET', ...(req.signal ? { signal: req.signal } : {}) });
    await res.body?.cancel();
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers.get('www-authenticate'));
      if (!challenge) throw this.authError(401);
      this.adopt(challenge, req);
    }
  }
}
