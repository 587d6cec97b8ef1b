import { createHash, createHmac, randomBytes } from 'node:crypto';

/** The headers every admin request carries. */
export const ADMIN_HEADERS = {
  timestamp: 'x-modelship-timestamp',
  nonce: 'x-modelship-nonce',
  signature: 'x-modelship-signature',
  /** Optional: which admin key signed (a rotation has two valid at once). When sent, it is signed too. */
  keyId: 'x-modelship-key-id',
} as const;

/** Admin key ids: what a file name and a header can carry without surprises. */
export const ADMIN_KEY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Bytes of randomness in a nonce (sent as hex). */
export const NONCE_BYTES = 16;

/**
 * The string an admin request's signature covers:
 *   METHOD \n path-with-query \n timestamp \n nonce \n sha256hex(body)
 * `path-with-query` is the request target exactly as sent (e.g. `/admin/v1/models/m/observations?since=5`).
 * A request that names its key id (x-modelship-key-id) signs it as a sixth line, so the id
 * cannot be swapped; one without is the original five-line form, checked against every valid key.
 */
export function canonicalAdminRequest(method: string, pathWithQuery: string, timestamp: string, nonce: string, body: string | Uint8Array, keyId?: string): string {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  const lines = `${method.toUpperCase()}\n${pathWithQuery}\n${timestamp}\n${nonce}\n${bodyHash}`;
  return keyId === undefined ? lines : `${lines}\n${keyId}`;
}

/** Hex HMAC-SHA256 of the canonical string. */
export function adminSignature(secret: string | Uint8Array, canonical: string): string {
  return createHmac('sha256', secret).update(canonical, 'utf8').digest('hex');
}

export interface AdminRequestToSign {
  readonly secret: string | Uint8Array;
  /** The key id of `secret`; sent and signed when given. */
  readonly keyId?: string | undefined;
  readonly method: string;
  readonly pathWithQuery: string;
  readonly body?: string | Uint8Array;
  /** Unix ms (default: now). */
  readonly timestamp?: number;
  /** Hex (default: 16 fresh random bytes). */
  readonly nonce?: string;
}

/** The three admin headers for one request. Use a new nonce for every request, including retries. */
export function signAdminRequest(request: AdminRequestToSign): Record<string, string> {
  const timestamp = String(request.timestamp ?? Date.now());
  const nonce = request.nonce ?? randomBytes(NONCE_BYTES).toString('hex');
  const canonical = canonicalAdminRequest(request.method, request.pathWithQuery, timestamp, nonce, request.body ?? '', request.keyId);
  return {
    [ADMIN_HEADERS.timestamp]: timestamp,
    [ADMIN_HEADERS.nonce]: nonce,
    [ADMIN_HEADERS.signature]: adminSignature(request.secret, canonical),
    ...(request.keyId === undefined ? {} : { [ADMIN_HEADERS.keyId]: request.keyId }),
  };
}
