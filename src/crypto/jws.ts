import { decodeBase64UrlStrict, encodeBase64Url } from './base64.js';
import { verifyEd25519 } from './ed25519.js';
import type { PublicKey, SigningKey } from './keys.js';

/**
 * JWS in the general JSON serialization (RFC 7515 section 7.2.1), EdDSA over Ed25519
 * (RFC 8037). One signature today; the shape already holds several, for key rotation.
 * `alg`, `kid` and `typ` sit in the protected header so they are covered by the signature.
 */
export interface GeneralJws {
  readonly payload: string;
  readonly signatures: ReadonlyArray<{ readonly protected: string; readonly signature: string }>;
}

export interface JwsProtectedHeader {
  readonly alg: 'EdDSA';
  readonly kid: string;
  readonly typ: string;
}

export function signGeneralJws(payload: Uint8Array, key: SigningKey, typ: string): GeneralJws {
  const header: JwsProtectedHeader = { alg: 'EdDSA', kid: key.kid, typ };
  const protectedB64 = encodeBase64Url(JSON.stringify(header));
  const payloadB64 = encodeBase64Url(payload);
  const signature = key.sign(Buffer.from(`${protectedB64}.${payloadB64}`, 'ascii'));
  return { payload: payloadB64, signatures: [{ protected: protectedB64, signature: encodeBase64Url(signature) }] };
}

export class JwsVerificationError extends Error {}

export interface VerifiedJws {
  readonly payload: Buffer;
  readonly header: JwsProtectedHeader;
}

/** Checks the JWS against one trusted key; throws JwsVerificationError saying what is wrong. */
export function verifyGeneralJws(value: unknown, key: PublicKey, expectedTyp: string): VerifiedJws {
  if (!isRecord(value)) throw new JwsVerificationError('not a JSON object');
  const unknownMembers = Object.keys(value).filter((k) => k !== 'payload' && k !== 'signatures');
  if (unknownMembers.length) throw new JwsVerificationError(`unexpected members ${unknownMembers.join(', ')}`);
  if (typeof value.payload !== 'string') throw new JwsVerificationError('payload is missing');
  if (!Array.isArray(value.signatures) || value.signatures.length === 0) throw new JwsVerificationError('no signatures');
  const payload = decodeOrFail(value.payload, 'payload');

  const reasons: string[] = [];
  for (const [index, entry] of value.signatures.entries()) {
    const where = `signature ${index}`;
    if (!isRecord(entry) || typeof entry.protected !== 'string' || typeof entry.signature !== 'string') {
      throw new JwsVerificationError(`${where}: needs string members "protected" and "signature"`);
    }
    const extra = Object.keys(entry).filter((k) => k !== 'protected' && k !== 'signature');
    if (extra.length) throw new JwsVerificationError(`${where}: unprotected members ${extra.join(', ')} are not accepted`);
    const header = parseHeader(decodeOrFail(entry.protected, `${where} protected header`), where);
    if (header.typ !== expectedTyp) throw new JwsVerificationError(`${where}: typ is ${JSON.stringify(header.typ)}, expected ${JSON.stringify(expectedTyp)}`);
    if (header.kid !== key.kid) {
      reasons.push(`${where}: made by kid ${header.kid}, not the given key ${key.kid}`);
      continue;
    }
    const signature = decodeOrFail(entry.signature, `${where} value`);
    const signingInput = Buffer.from(`${entry.protected}.${value.payload}`, 'ascii');
    if (!verifyEd25519(signature, signingInput, key.raw)) {
      reasons.push(`${where}: Ed25519 signature does not verify with kid ${key.kid}`);
      continue;
    }
    return { payload, header };
  }
  throw new JwsVerificationError(reasons.join('; '));
}

function parseHeader(bytes: Buffer, where: string): JwsProtectedHeader {
  let header: unknown;
  try {
    header = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new JwsVerificationError(`${where}: protected header is not JSON`);
  }
  if (!isRecord(header)) throw new JwsVerificationError(`${where}: protected header is not an object`);
  if (header.alg !== 'EdDSA') throw new JwsVerificationError(`${where}: alg ${JSON.stringify(header.alg)} is not accepted (EdDSA only)`);
  if ('crit' in header) throw new JwsVerificationError(`${where}: crit extensions are not supported`);
  if (typeof header.kid !== 'string' || typeof header.typ !== 'string') throw new JwsVerificationError(`${where}: kid and typ are required`);
  return { alg: 'EdDSA', kid: header.kid, typ: header.typ };
}

function decodeOrFail(text: string, what: string): Buffer {
  try {
    return decodeBase64UrlStrict(text, what);
  } catch (err) {
    throw new JwsVerificationError((err as Error).message);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
