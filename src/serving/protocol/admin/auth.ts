import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ADMIN_HEADERS, ADMIN_KEY_ID_PATTERN, adminSignature, canonicalAdminRequest, NONCE_BYTES } from '../../../serving-client/admin-signing.js';

/** How far an admin request's timestamp may be from the server's clock. */
export const ADMIN_CLOCK_WINDOW_MS = 60_000;
/** Nonces remembered at once; a window with more signed requests than this is refused (429) until some expire. */
export const DEFAULT_MAX_NONCES = 100_000;

/** On success, the id of the key that verified (for the logs; never the secret). */
export type AdminAuthResult = { readonly ok: true; readonly kid: string } | { readonly ok: false; readonly status: 401 | 429; readonly reason: string };

/** The admin keys valid now, by key id. */
export type AdminKeys = ReadonlyMap<string, Uint8Array>;

/** Key id of a secret configured without one (--admin-key-file / MODELSHIP_SERVING_ADMIN_KEY with a bare secret). */
export const DEFAULT_ADMIN_KEY_ID = 'default';

export interface AdminAuthOptions {
  /** A single fixed key (id `default`), used when `verify` is given no key set. */
  readonly secret?: string;
  readonly windowMs?: number;
  readonly maxNonces?: number;
  readonly now?: () => number;
}

/**
 * Checks admin request signatures (see admin-signing.ts): the timestamp must be within ±60 s,
 * the HMAC must match (compared with timingSafeEqual), and the nonce must not have been used
 * by an accepted request in the window. A nonce is remembered until its timestamp leaves the
 * window (after that the timestamp alone refuses a replay), so memory stays bounded by the
 * number of requests per window, capped at `maxNonces`.
 *
 * Keys are identified by id, and several may be valid at once (a rotation has two): a request
 * naming its key id (x-modelship-key-id, signed with it) is checked against that key only; one
 * without, against each valid key in turn, so clients that predate key ids keep working.
 */
export class AdminAuthenticator {
  readonly #fixed: AdminKeys;
  private readonly windowMs: number;
  private readonly maxNonces: number;
  private readonly now: () => number;
  /** nonce → unix ms after which it can be forgotten. */
  private readonly nonces = new Map<string, number>();
  private lastSweep = 0;

  constructor(options: AdminAuthOptions) {
    this.#fixed = new Map(options.secret === undefined ? [] : [[DEFAULT_ADMIN_KEY_ID, Buffer.from(options.secret, 'utf8')]]);
    this.windowMs = options.windowMs ?? ADMIN_CLOCK_WINDOW_MS;
    this.maxNonces = options.maxNonces ?? DEFAULT_MAX_NONCES;
    this.now = options.now ?? Date.now;
  }

  /** Nonces currently remembered. */
  get rememberedNonces(): number {
    return this.nonces.size;
  }

  verify(method: string, pathWithQuery: string, headers: IncomingHttpHeaders, body: Uint8Array, keys: AdminKeys = this.#fixed): AdminAuthResult {
    const fail = (reason: string, status: 401 | 429 = 401): AdminAuthResult => ({ ok: false, status, reason });
    const timestamp = single(headers[ADMIN_HEADERS.timestamp]);
    const nonceHeader = single(headers[ADMIN_HEADERS.nonce]);
    const signature = single(headers[ADMIN_HEADERS.signature]);
    const missing = [
      [ADMIN_HEADERS.timestamp, timestamp],
      [ADMIN_HEADERS.nonce, nonceHeader],
      [ADMIN_HEADERS.signature, signature],
    ].filter(([, v]) => v === undefined).map(([h]) => h);
    if (missing.length) return fail(`unsigned admin request: missing header(s) ${missing.join(', ')}`);
    if (!/^\d{1,16}$/.test(timestamp!)) return fail(`${ADMIN_HEADERS.timestamp} must be unix milliseconds`);
    if (!new RegExp(`^[0-9a-fA-F]{${NONCE_BYTES * 2},256}$`).test(nonceHeader!) || nonceHeader!.length % 2 !== 0) {
      return fail(`${ADMIN_HEADERS.nonce} must be at least ${NONCE_BYTES} random bytes in hex`);
    }
    if (!/^[0-9a-fA-F]{64}$/.test(signature!)) return fail(`${ADMIN_HEADERS.signature} must be a hex HMAC-SHA256`);

    const now = this.now();
    const skew = now - Number(timestamp);
    if (Math.abs(skew) > this.windowMs) {
      return fail(`timestamp is ${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? 'old' : 'in the future'}; admin requests are accepted within ±${this.windowMs / 1000} s`);
    }
    const keyId = headers[ADMIN_HEADERS.keyId];
    if (Array.isArray(keyId) || (keyId !== undefined && !ADMIN_KEY_ID_PATTERN.test(keyId))) return fail(`${ADMIN_HEADERS.keyId} must be one key id matching ${ADMIN_KEY_ID_PATTERN}`);
    if (keys.size === 0) return fail('the server has no admin key configured');
    const given = Buffer.from(signature!, 'hex');
    const matches = (secret: Uint8Array, signedKeyId?: string) => {
      const expected = Buffer.from(adminSignature(secret, canonicalAdminRequest(method, pathWithQuery, timestamp!, nonceHeader!, body, signedKeyId)), 'hex');
      return timingSafeEqual(given, expected);
    };
    let kid: string | undefined;
    if (keyId !== undefined) {
      const secret = keys.get(keyId);
      if (!secret) return fail(`unknown or retired admin key id ${JSON.stringify(keyId)}`);
      if (matches(secret, keyId)) kid = keyId;
    } else {
      for (const [id, secret] of keys) if (matches(secret)) kid ??= id;
    }
    if (kid === undefined) return fail('bad signature');

    const nonce = nonceHeader!.toLowerCase();
    this.sweep(now);
    if (this.nonces.has(nonce)) return fail('replayed request: this nonce was already used');
    if (this.nonces.size >= this.maxNonces) {
      this.sweep(now, true);
      if (this.nonces.size >= this.maxNonces) return fail(`too many admin requests in the last ${this.windowMs / 1000} s; retry later`, 429);
    }
    this.nonces.set(nonce, Number(timestamp) + this.windowMs);
    return { ok: true, kid };
  }

  /** Forgets nonces whose timestamps left the window (at most once a second unless forced). */
  private sweep(now: number, force = false): void {
    if (!force && now - this.lastSweep < 1000) return;
    this.lastSweep = now;
    for (const [nonce, expires] of this.nonces) if (expires < now) this.nonces.delete(nonce);
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}
