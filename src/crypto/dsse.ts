import { decodeBase64Strict, encodeBase64 } from './base64.js';
import { verifyEd25519 } from './ed25519.js';
import type { PublicKey, SigningKey } from './keys.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseEnvelope {
  readonly payload: string;
  readonly payloadType: string;
  readonly signatures: ReadonlyArray<{ readonly keyid: string; readonly sig: string }>;
}

/** DSSE v1 pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body, lengths in bytes. */
export function pae(payloadType: string, body: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${body.length} `), body]);
}

export function signEnvelope(body: Uint8Array, payloadType: string, key: SigningKey): DsseEnvelope {
  const sig = key.sign(pae(payloadType, body));
  return { payload: encodeBase64(body), payloadType, signatures: [{ keyid: key.kid, sig: encodeBase64(sig) }] };
}

export class DsseVerificationError extends Error {}

/** Returns the payload once a signature by `key` verifies over its PAE. */
export function verifyEnvelope(value: unknown, key: PublicKey, expectedPayloadType: string): Buffer {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DsseVerificationError('not a JSON object');
  const env = value as Record<string, unknown>;
  // Unknown members are refused, as in the JWS verifier: a renamed "keyid" must not pass as absent.
  const unknownMembers = Object.keys(env).filter((k) => k !== 'payload' && k !== 'payloadType' && k !== 'signatures');
  if (unknownMembers.length) throw new DsseVerificationError(`unexpected members ${unknownMembers.join(', ')}`);
  if (typeof env.payload !== 'string' || typeof env.payloadType !== 'string') throw new DsseVerificationError('payload and payloadType are required');
  if (env.payloadType !== expectedPayloadType) {
    throw new DsseVerificationError(`payloadType is ${JSON.stringify(env.payloadType)}, expected ${JSON.stringify(expectedPayloadType)}`);
  }
  if (!Array.isArray(env.signatures) || env.signatures.length === 0) throw new DsseVerificationError('no signatures');
  const body = decode(env.payload, 'payload');
  const message = pae(env.payloadType, body);
  const reasons: string[] = [];
  for (const [index, entry] of (env.signatures as unknown[]).entries()) {
    const s = entry as Record<string, unknown> | null;
    if (!s || typeof s.sig !== 'string' || (s.keyid !== undefined && typeof s.keyid !== 'string')) {
      throw new DsseVerificationError(`signature ${index}: needs a string "sig" (and an optional string "keyid")`);
    }
    const extra = Object.keys(s).filter((k) => k !== 'keyid' && k !== 'sig');
    if (extra.length) throw new DsseVerificationError(`signature ${index}: unexpected members ${extra.join(', ')}`);
    // keyid is not signed: it only chooses the key, so a mismatch counts as "not ours".
    if (s.keyid !== undefined && s.keyid !== key.kid) {
      reasons.push(`signature ${index}: keyid ${s.keyid} is not the given key ${key.kid}`);
      continue;
    }
    if (verifyEd25519(decode(s.sig, `signature ${index}`), message, key.raw)) return body;
    reasons.push(`signature ${index}: Ed25519 signature over the PAE does not verify with kid ${key.kid}`);
  }
  throw new DsseVerificationError(reasons.join('; '));
}

function decode(text: string, what: string): Buffer {
  try {
    return decodeBase64Strict(text, what);
  } catch (err) {
    throw new DsseVerificationError((err as Error).message);
  }
}
