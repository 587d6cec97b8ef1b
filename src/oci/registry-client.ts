import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { SecureContext } from 'node:tls';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ArtifactNotFoundError,
  RegistryAuthError,
  RegistryProtocolError,
  RegistryUnavailableError,
  errorMessage,
} from '../errors/index.js';
import { credentialsFor, type Credentials } from './credentials.js';
import { CA_FILE_ENV, isPlainHttpToTlsPort, plainHttpToTlsPortError, registryTlsContext, tlsFailure } from './registry-tls.js';

export interface RegistryClientOptions {
  /** `host[:port]` as in a reference. */
  readonly registry: string;
  /** Speak http instead of https. Default: true for loopback hosts (localhost, 127.x, ::1), false otherwise. */
  readonly plainHttp?: boolean;
  /** Default: from the environment or a Docker config.json (see credentials.ts); null for none. */
  readonly credentials?: Credentials | null;
  /** PEM file of CA certificates trusted besides the system's (over https). Default: MODELSHIP_REGISTRY_CA_FILE. */
  readonly caFile?: string;
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

/** Response headers, read as a web Headers object reads them (the only part of Headers callers use). */
export interface ResponseHeaders {
  get(name: string): string | null;
}

/** A response whose body is the socket's own Node stream: blobs are read from it without web-stream copies. */
export interface StreamResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: IncomingMessage;
}

/**
 * The part of a web Response the callers use, over a node:http answer. Not a real Response:
 * constructing one loads undici into the process, ~30 ms of CPU on every `modelship pull`/`push`.
 * Like a Response over Readable.toWeb, the body is read from the start (the socket goes back to
 * the agent even when no one reads it); cancel() cuts off only a large body still arriving.
 */
export class RegistryResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: ResponseHeaders;
  /** null for a bodyless answer (HEAD, 204, 304), as Response.body. */
  readonly body: { cancel(): Promise<void> } | null;
  private readonly bytes: Promise<Buffer>;

  constructor(res: IncomingMessage, method: string) {
    this.status = res.statusCode ?? 0;
    this.ok = this.status >= 200 && this.status < 300;
    this.headers = responseHeaders(res);
    const bodyless = method === 'HEAD' || this.status === 204 || this.status === 304;
    if (bodyless) res.resume();
    this.bytes = bodyless ? Promise.resolve(Buffer.alloc(0)) : readBytes(res);
    this.bytes.catch(() => {}); // a failure is the reader's, if any, as with a Response's body
    this.body = bodyless
      ? null
      : {
          // A small body (an upload's 202, a manifest) is left to finish arriving, so its
          // keep-alive connection goes back to the agent: destroying it cost a TCP (and TLS)
          // handshake per request, 50 per push of 1 GiB. A large one is cut off.
          cancel: async () => {
            if (!res.readableEnded && !(Number(res.headers['content-length'] ?? Infinity) <= DRAIN_MAX_BYTES)) res.destroy();
          },
        };
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.bytes;
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }

  /** UTF-8 without a leading BOM, as Response.text(). */
  async text(): Promise<string> {
    return (await this.bytes).toString('utf8').replace(/^\uFEFF/, '');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** A cancelled response body up to this size is read to its end rather than cut off (see RegistryResponse). */
const DRAIN_MAX_BYTES = 64 * 1024;

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
 * The OCI distribution API over node:http (keep-alive connections, Node streams for blobs), with the auth it needs: basic when the registry asks
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
  /**
   * Keep-alive connections to the registry, reused across requests (a blob's chunks, the HEADs
   * before it, the next blob): no handshake per request. Enough sockets for the parallel layers.
   */
  private readonly agent: http.Agent;
  /** Over https with a CA file: the context trusting the system's CAs and the file's. */
  private readonly tls: { readonly secureContext: SecureContext } | undefined;

  constructor(options: RegistryClientOptions) {
    this.registry = options.registry;
    const plain = options.plainHttp ?? (process.env.MODELSHIP_REGISTRY_PLAIN_HTTP !== undefined ? process.env.MODELSHIP_REGISTRY_PLAIN_HTTP === '1' : isLoopback(options.registry));
    this.baseUrl = `${plain ? 'http' : 'https'}://${options.registry}`;
    const secureContext = plain ? undefined : registryTlsContext(options.caFile ?? process.env[CA_FILE_ENV]);
    this.tls = secureContext ? { secureContext } : undefined;
    const agentOptions = { keepAlive: true, maxSockets: 16, maxFreeSockets: 8, scheduling: 'lifo' as const };
    this.agent = plain ? new http.Agent(agentOptions) : new https.Agent({ ...agentOptions, ...this.tls });
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
    const res = new RegistryResponse(await this.send(url.toString(), 'GET', headers, undefined, signal), 'GET');
    if (res.status === 401 || res.status === 403) throw this.authError(res.status);
    if (!res.ok) throw this.statusError(res.status, await res.text().catch(() => ''), `token from ${url.origin}${url.pathname}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryProtocolError(`the token endpoint of registry ${this.registry} returned no token`);
    return token;
  }

  private authError(status: number): RegistryAuthError {
    const how = this.credentials ? `refused the credentials from ${this.credentials.source}` : 'needs credentials and none are configured (set MODELSHIP_REGISTRY_USERNAME and MODELSHIP_REGISTRY_PASSWORD, or log in with a Docker-style config.json)';
    return new RegistryAuthError(`registry ${this.registry} ${how} (HTTP ${status})`);
  }

  private statusError(status: number, body: string, what: string): Error {
    let detail = body.slice(0, 300);
    try {
      const errors = (JSON.parse(body) as { errors?: Array<{ code?: string; message?: string }> }).errors;
      if (errors?.length) detail = errors.map((e) => `${e.code}: ${e.message}`).join('; ');
    } catch {
      // not JSON: the text is the detail
    }
    const message = `registry ${this.registry}: ${what}: HTTP ${status}${detail ? ` (${detail.trim()})` : ''}`;
    if (status >= 500 || status === 429 || status === 408) return new RegistryUnavailableError(message);
    if (status === 404) return new ArtifactNotFoundError(message);
    if (status === 401 || status === 403) return this.authError(status);
    return new RegistryProtocolError(message);
  }

  /**
   * One HTTP exchange over node:http with the keep-alive agent (the registry's own origin only: a
   * redirect elsewhere, e.g. to object storage, gets a fresh connection). A streamed body is piped
   * with backpressure, so memory holds a socket buffer, never the body.
   */
  private send(url: string, method: string, headers: Record<string, string>, body: Buffer | Readable | undefined, signal?: AbortSignal): Promise<IncomingMessage> {
    const target = new URL(url);
    const own = target.origin === new URL(this.baseUrl).origin;
    const mod = target.protocol === 'https:' ? https : http;
    const once = (agent: http.Agent | false | undefined) =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const req = mod.request(target, { method, headers, ...(agent !== undefined ? { agent } : {}), ...(signal ? { signal } : {}), ...(mod === https ? this.tls : {}) }, resolve);
        const fail = (err: unknown) => reject(Object.assign(this.unreachable(err), { staleConnection: req.reusedSocket && isStaleConnectionError(err) }));
        req.on('error', fail);
        if (body instanceof Readable) pipeline(body, req).catch(fail);
        else req.end(body);
      });
    const agent = own ? this.agent : undefined;
    // A kept-alive connection the registry closed while it sat idle fails the next request on
    // it at once (ECONNRESET/EPIPE, before any response). A GET or HEAD is sent again once, on a
    // connection of its own: it changes nothing on the registry.
    return once(agent).catch((err: unknown) => {
      if (!(err as { staleConnection?: boolean }).staleConnection || (method !== 'GET' && method !== 'HEAD')) throw err;
      return once(false);
    });
  }

  /**
   * A network failure as the retryable error naming the registry (a cancel stays an AbortError);
   * a TLS failure (untrusted certificate, plain HTTP on the port) as the non-retryable one saying what to set.
   */
  unreachable(err: unknown): Error {
    if ((err as Error).name === 'AbortError' || err instanceof RegistryUnavailableError) return err as Error;
    const tls = tlsFailure(err, this.registry);
    if (tls) return tls;
    const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
    const code = e.code ?? e.cause?.code ?? e.cause?.message ?? errorMessage(err);
    return new RegistryUnavailableError(`registry ${this.registry} is unreachable (${code})`, { cause: err });
  }

  /** One request, answering an auth challenge once. Returns the response for 2xx and `accept`ed statuses. */
  async request(req: RegistryRequest): Promise<RegistryResponse> {
    const res = await this.exchange(req);
    return new RegistryResponse(res.body, req.method);
  }

  /** Like request, with the body as the socket's Node stream: for blobs, read at the link's speed. */
  async stream(req: RegistryRequest): Promise<StreamResponse> {
    return this.exchange(req);
  }

  private async exchange(req: RegistryRequest): Promise<StreamResponse> {
    let url = /^https?:\/\//.test(req.path) ? req.path : `${this.baseUrl}${req.path}`;
    if (req.body instanceof Readable && this.scheme === 'none') await this.settleAuth(req);
    let challenged = false;
    for (let hops = 0; ; ) {
      // Credentials go to the registry's own origin only, never to where it redirects.
      const own = new URL(url).origin === new URL(this.baseUrl).origin;
      const auth = own ? await this.authHeader(req.repository, req.push ?? false, req.signal) : undefined;
      const headers: Record<string, string> = { ...(req.headers ?? {}), ...(auth ? { authorization: auth } : {}) };
      const res = await this.send(url, req.method, headers, req.body, req.signal);
      const status = res.statusCode ?? 0;
      if (status === 401 && own && !challenged && !(req.body instanceof Readable)) {
        challenged = true;
        const challenge = parseChallenge(header(res, 'www-authenticate'));
        res.resume();
        if (!challenge) throw this.authError(401);
        if (!this.credentials && challenge.scheme === 'basic') throw this.authError(401);
        this.adopt(challenge, req);
        continue;
      }
      const location = header(res, 'location');
      if (REDIRECTS.has(status) && location && (req.method === 'GET' || req.method === 'HEAD') && hops++ < 5) {
        res.resume();
        url = new URL(location, url).toString();
        continue;
      }
      if ((status >= 200 && status < 300) || req.accept?.includes(status)) return { status, headers: responseHeaders(res), body: res };
      const body = req.method === 'HEAD' ? '' : await readText(res).catch(() => '');
      if (status === 400 && url.startsWith('http:') && (await this.isTlsPort(body, req.signal))) throw plainHttpToTlsPortError(this.registry);
      throw this.statusError(status, body, `${req.method} ${new URL(url).pathname}`);
    }
  }

  /** Whether a 400 to plain HTTP is a TLS port's answer; a HEAD's carries no body, so /v2/ is asked. */
  private async isTlsPort(body: string, signal?: AbortSignal): Promise<boolean> {
    if (isPlainHttpToTlsPort(400, body)) return true;
    if (body) return false;
    const probe = await this.send(`${this.baseUrl}/v2/`, 'GET', {}, undefined, signal).catch(() => undefined);
    if (!probe) return false;
    return isPlainHttpToTlsPort(probe.statusCode ?? 0, await readText(probe).catch(() => ''));
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
    const res = await this.send(`${this.baseUrl}/v2/`, 'GET', {}, undefined, req.signal);
    res.resume();
    if (res.statusCode === 401) {
      const challenge = parseChallenge(header(res, 'www-authenticate'));
      if (!challenge) throw this.authError(401);
      this.adopt(challenge, req);
    }
  }
}

/** A node:http answer's headers read as web Headers are (case-insensitive `get`). */
function responseHeaders(res: IncomingMessage): ResponseHeaders {
  return { get: (name) => header(res, name.toLowerCase()) };
}

function header(res: IncomingMessage, name: string): string | null {
  const v = res.headers[name];
  return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
}

async function readBytes(res: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function readText(res: IncomingMessage): Promise<string> {
  return (await readBytes(res)).toString('utf8');
}

/** The errors a request on a kept-alive connection the server has already closed fails with. */
function isStaleConnectionError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}
