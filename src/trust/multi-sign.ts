import { signEnvelope, type DsseEnvelope } from '../crypto/dsse.js';
import { signGeneralJws, type GeneralJws } from '../crypto/jws.js';
import type { SigningKey } from '../crypto/keys.js';
import { MultiSignError } from '../errors/index.js';

/**
 * One general-JSON JWS (RFC 7515 section 7.2.1) over `payload` with one EdDSA signature per key,
 * in the order given, each with its own protected header { alg, kid, typ }. During a key
 * rotation the release is signed by the old and the new key, so verifiers that know either
 * one (or require both) accept it. Each signature is exactly what `signGeneralJws` makes with
 * that key alone, so a single-key JWS is the one-key case of this one.
 */
export function signGeneralJwsMulti(payload: Uint8Array, keys: readonly SigningKey[], typ: string): GeneralJws {
  checkKeys(keys, 'a JWS');
  const signed = keys.map((key) => signGeneralJws(payload, key, typ));
  return { payload: signed[0]!.payload, signatures: signed.flatMap((jws) => jws.signatures) };
}

/**
 * The DSSE counterpart, for the provenance and smoke attestations during a rotation: one
 * envelope with one { keyid, sig } per key over the same PAE, each what `signEnvelope` makes
 * alone. `verifyEnvelope` accepts it with any one of the keys.
 */
export function signEnvelopeMulti(body: Uint8Array, payloadType: string, keys: readonly SigningKey[]): DsseEnvelope {
  checkKeys(keys, 'a DSSE envelope');
  const signed = keys.map((key) => signEnvelope(body, payloadType, key));
  return { payload: signed[0]!.payload, payloadType, signatures: signed.flatMap((env) => env.signatures) };
}

function checkKeys(keys: readonly SigningKey[], what: string): void {
  if (keys.length === 0) throw new MultiSignError(`no signing keys: ${what} needs at least one signature`);
  const kids = keys.map((k) => k.kid);
  const twice = kids.filter((kid, i) => kids.indexOf(kid) !== i);
  if (twice.length) throw new MultiSignError(`kid ${twice[0]} is given twice: a key signs once (a second signature would not count)`);
}
