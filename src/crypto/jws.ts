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

/**
 * Checks the JWS against a set of trusted keys (by kid, each kid the RFC 7638 thumbprint of its
 * key): the first signature that verifies with one of them wins. With one key and no `where`
 * (the folder the keys came from, named in failures) it answers exactly as `verifyGeneralJws`.
 *
 * The protected header's kid is read before its signature is checked, but only to pick which
 * *trusted* key to try: it is looked up in `keys` and nothing else. That is safe because a kid
 * names a key only within this set (every kid here is its key's thumbprint), and the signature
 * must then verify under that trusted key. A forged or altered kid can only make a signature
 * fail (its key is not tried), never make one count; and the header is itself covered by the
 * signature, so the kid reported for a valid one is the signer's. The kid of a signature that
 * verifies with no trusted key is named in the error only to say which key would be needed.
 */
export function verifyGeneralJwsWithKeys(value: unknown, keys: ReadonlyMap<string, PublicKey>, expectedTyp: string, where?: string): VerifiedJws & { readonly key: PublicKey } {
  const [only, ...more] = keys.values();
  if (!only) throw new JwsVerificationError(`no trusted keys${where ? ` in ${where}` : ''}`);
  if (more.length === 0 && where === undefined) return { ...verifyGeneralJws(value, only, expectedTyp), key: only };
  // A JWS that is unreadable as a whole fails here, worded as verifyGeneralJws words it.
  const shapeOk = isRecord(value) && Object.keys(value).every((k) => k === 'payload' || k === 'signatures') && typeof value.payload === 'string' && Array.isArray(value.signatures) && value.signatures.length > 0;
  if (!shapeOk) return { ...verifyGeneralJws(value, only, expectedTyp), key: only };
  decodeOrFail(value.payload as string, 'payload');
  const reasons: string[] = [];
  for (const [index, entry] of (value.signatures as unknown[]).entries()) {
    const kid = isRecord(entry) && typeof entry.protected === 'string' ? kidOf(entry.protected) : undefined;
    const key = kid === undefined ? undefined : keys.get(kid);
    if (!key) {
      if (kid !== undefined) reasons.push(`signature ${index}: signed by kid ${kid}, which is not a trusted key${where ? ` in ${where}` : ''}`);
      continue;
    }
    try {
      return { ...verifyGeneralJws({ payload: value.payload, signatures: [entry] }, key, expectedTyp), key };
    } catch (err) {
      reasons.push(`signature ${index}: ${(err as Error).message.replace(/^signature 0: /, '')}`);
    }
  }
  throw new JwsVerificationError(reasons.length ? reasons.join('; ') : 'no signature names a kid');
}

/** The kid a protected header names, for choosing among trusted keys only (see verifyGeneralJwsWithKeys). */
function kidOf(protectedB64: string): string | undefined {
  try {
    const header = JSON.parse(decodeBase64UrlStrict(protectedB64, 'protected header').toString('utf8')) as unknown;
    return isRecord(header) && typeof header.kid === 'string' ? header.kid : undefined;
  } catch {
    return undefined;
  }
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
