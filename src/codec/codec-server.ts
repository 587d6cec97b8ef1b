/**
 * The codec server: the HTTP protocol the Temporal Web UI and `temporal --codec-endpoint` call
 * (temporalio/samples-go codec-server/protocol.md). `POST …/encode` and `POST …/decode` take
 * and return `{"payloads": [...]}`, Payloads in protobuf JSON (metadata values and data in
 * base64); only the last path segment picks the operation, so the server can sit under any
 * prefix. The UI calls it from the browser, so it answers CORS for the configured UI origins
 * (preflights carry no credentials and are answered without auth). Every POST needs
 * `Authorization: Bearer <token>`. Logs say who asked for what, never payloads or the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { Logger } from '../logger.js';
import { ModelshipError } from '../errors/index.js';

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const ALLOWED_HEADERS = 'Content-Type, X-Namespace, Authorization';

export interface CodecServerOptions {
  readonly codec: PayloadCodec;
  /** The bearer token clients must send. */
  readonly token: string;
  /** Origins (scheme://host:port) whose pages may call the server: the Web UI's. */
  readonly uiOrigins: readonly string[];
  readonly host?: string;
  readonly port?: number;
  readonly logger: Logger;
}

export interface CodecServer {
  readonly url: string;
  close(): Promise<void>;
}

interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

class BadRequest extends Error {}

function fromJson(p: JsonPayload): Payload {
  if (typeof p !== 'object' || p === null) throw new BadRequest('each payload must be an object');
  const metadata = Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => {
      if (typeof v !== 'string') throw new BadRequest(`metadata ${k} must be a base64 string`);
      return [k, new Uint8Array(Buffer.from(v, 'base64'))];
    }),
  );
  if (p.data !== undefined && p.data !== null && typeof p.data !== 'string') throw new BadRequest('data must be a base64 string');
  return { metadata, data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')) };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(p.data ?? []).toString('base64'),
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const { codec, logger } = options;
  if (!options.token) throw new Error('the codec server needs a bearer token');
  const tokenDigest = sha256(options.token);
  const origins = new Set(options.uiOrigins.map((o) => o.replace(/\/$/, '')));

  const authorized = (req: IncomingMessage): boolean => {
    const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    // Compare digests: equal length whatever was sent, and constant time.
    return match !== null && timingSafeEqual(sha256(match[1]!), tokenDigest);
  };

  const cors = (req: IncomingMessage, res: ServerResponse): boolean => {
    const origin = req.headers.origin;
    res.setHeader('Vary', 'Origin');
    if (origin === undefined) return true; // not a browser (the temporal CLI, curl)
    if (!origins.has(origin)) return false;
    res.setHeader('Access-Control-Allow-Origin', origin);
    // The UI's "include cross-origin credentials" setting sends cookies; allow it for listed origins only.
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    return true;
  };

  const send = (res: ServerResponse, status: number, body?: unknown): void => {
    if (body === undefined) {
      res.writeHead(status).end();
      return;
    }
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://codec').pathname;
    const operation = path.split('/').filter(Boolean).pop();
    const namespace = typeof req.headers['x-namespace'] === 'string' ? req.headers['x-namespace'] : undefined;
    const log = logger.child({ method: req.method, path, ...(namespace ? { namespace } : {}), ...(req.headers.origin ? { origin: req.headers.origin } : {}) });
    if (!cors(req, res)) {
      log.warn('refused: origin not allowed');
      return send(res, 403, { error: `origin ${req.headers.origin} is not allowed: start the codec server with --ui-origin ${req.headers.origin}` });
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      return send(res, 204);
    }
    if (operation !== 'encode' && operation !== 'decode') return send(res, 404, { error: 'not found: POST …/encode or …/decode' });
    if (req.method !== 'POST') return send(res, 405, { error: 'use POST' });
    if (!authorized(req)) {
      log.warn('refused: missing or wrong bearer token');
      res.setHeader('WWW-Authenticate', 'Bearer');
      return send(res, 401, { error: 'missing or wrong bearer token (Authorization: Bearer <token>)' });
    }
    let payloads: Payload[];
    try {
      const body = await readBody(req);
      const parsed = JSON.parse(body) as { payloads?: unknown };
      if (!Array.isArray(parsed?.payloads)) throw new BadRequest('expected {"payloads": [...]}');
      payloads = parsed.payloads.map((p) => fromJson(p as JsonPayload));
    } catch (err) {
      const tooLarge = err instanceof BodyTooLarge;
      log.warn({ err: (err as Error).message }, 'bad request');
      return send(res, tooLarge ? 413 : 400, { error: err instanceof BadRequest || tooLarge ? (err as Error).message : `invalid JSON: ${(err as Error).message}` });
    }
    try {
      const out = operation === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
      log.info({ payloads: payloads.length }, operation);
      return send(res, 200, { payloads: out.map(toJson) });
    } catch (err) {
      // The protocol answers a codec failure with 400; the typed error says which key.
      const type = err instanceof ModelshipError ? err.type : 'Error';
      log.warn({ type, err: (err as Error).message }, `${operation} failed`);
      return send(res, 400, { error: (err as Error).message, type });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err: (err as Error).message }, 'codec server request failed');
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      const { address, port } = server.address() as AddressInfo;
      const host = address.includes(':') ? `[${address}]` : address;
      resolve({
        url: `http://${host}:${port}`,
        close: () => new Promise<void>((done) => { server.closeAllConnections(); server.close(() => done()); }),
      });
    });
  });
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge(`body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
