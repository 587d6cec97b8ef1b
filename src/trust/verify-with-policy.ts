import { decodeBase64UrlStrict } from '../crypto/base64.js';
import { ED25519_SIGNATURE_BYTES, verifyEd25519 } from '../crypto/ed25519.js';
import { KeyringError, errorMessage } from '../errors/index.js';
import { describeKeyStatus, keyStatus, type Keyring, type KeyStatus } from './keyring.js';
import { describeRule, ruleFor, type TrustPolicy } from './policy.js';

export type SignatureStatus =
  | 'valid'
  | 'bad-signature'
  | 'unknown-kid'
  | 'untrusted-for-model'
  | 'revoked'
  | 'expired'
  | 'not-yet-valid'
  | 'duplicate-kid'
  | 'malformed';

export interface SignatureCheck {
  readonly index: number;
  /** The kid of the protected header; undefined when it could not be read. */
  readonly kid: string | undefined;
  readonly status: SignatureStatus;
  /** Says what was checked or what failed, in words. */
  readonly reason: string;
}

export interface PolicyVerification {
  /** True iff at least `threshold` distinct kids trusted for the model made signatures that verify with valid keys. */
  readonly ok: boolean;
  readonly modelName: string;
  /** The rule applied (`rules[0] (fraud-*)`, `the default rule`), or undefined when no rule names the model. */
  readonly rule: string | undefined;
  /** t; 0 when no rule applies (and then ok is false). */
  readonly threshold: number;
  readonly trustedKids: readonly string[];
  /** Distinct trusted kids with a valid signature. */
  readonly counted: number;
  readonly countedKids: readonly string[];
  readonly signatures: readonly SignatureCheck[];
  /** One line: why it passed or failed. */
  readonly reason: string;
  /** Set when the JWS as a whole is unreadable (then `signatures` is empty). */
  readonly error: string | undefined;
  /** The decoded payload, only when ok: the bytes the signatures cover. */
  readonly payload: Buffer | undefined;
}

export interface VerifyWithPolicyOptions {
  readonly keyring: Keyring;
  readonly policy: TrustPolicy;
  /** The model the payload is about. Take it from the payload itself (the signed manifest), never from elsewhere. */
  readonly modelName: string;
  /** When key validity and revocation are judged: normally now. */
  readonly at: Date;
  /** The protected header's typ every counted signature must have. */
  readonly expectedTyp: string;
  /** More signatures than this make the JWS unreadable (each known kid costs an Ed25519 verification). Default 32. */
  readonly maxSignatures?: number;
}

export const DEFAULT_MAX_SIGNATURES = 32;

/**
 * Verifies a general-JSON JWS (RFC 7515 section 7.2.1, EdDSA) against a keyring and a trust
 * policy: every signature is checked and reported on its own, and the JWS is accepted iff at
 * least t distinct kids trusted for the model signed it with keys valid at `at`. A kid that
 * signed twice counts once. Never throws for a bad, unknown or malformed signature or JWS;
 * it throws only when `at` is not a valid date.
 *
 * Each signature goes through, in order: shape and protected header (`malformed`: wrong
 * members, not strict base64url, not JSON, alg other than EdDSA, crit, missing kid/typ, a typ
 * other than `expectedTyp`, a signature not 64 bytes), the keyring (`unknown-kid`), the Ed25519
 * check over `protected.payload` (`bad-signature`), the key's status at `at` (`revoked`,
 * `expired`, `not-yet-valid`), the rule for the model (`untrusted-for-model`), then
 * `duplicate-kid` if that kid was counted already, else `valid`.
 */
export function verifyJwsWithPolicy(jws: unknown, options: VerifyWithPolicyOptions): PolicyVerification {
  const { keyring, policy, modelName, at, expectedTyp } = options;
  // An invalid date compares false with everything: it would make every key valid.
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new KeyringError(`verifyJwsWithPolicy: at must be a valid Date, got ${String(at)}`);
  const match = ruleFor(policy, modelName);
  const trustedKids = match?.rule.trustedKids ?? [];
  const threshold = match?.rule.threshold ?? 0;
  const ruleText = match ? describeRule(match) : undefined;
  const base = { modelName, rule: ruleText, threshold, trustedKids };

  const shapeError = jwsShapeProblem(jws, options.maxSignatures ?? DEFAULT_MAX_SIGNATURES);
  if (shapeError) {
    return { ...base, ok: false, counted: 0, countedKids: [], signatures: [], reason: `the JWS is unreadable: ${shapeError}`, error: shapeError, payload: undefined };
  }
  const value = jws as { payload: string; signatures: unknown[] };
  const payload = decodeBase64UrlStrict(value.payload, 'payload'); // checked by jwsShapeProblem

  const counted = new Set<string>();
  const signatures: SignatureCheck[] = [];
  for (const [index, entry] of value.signatures.entries()) {
    const check = checkSignature(entry, index);
    signatures.push(check);
    if (check.status === 'valid') counted.add(check.kid!);
  }

  const countedKids = [...counted];
  const ok = match !== undefined && counted.size >= threshold;
  let reason: string;
  if (!match) reason = `no rule of the trust policy${policy.source ? ` ${policy.source}` : ''} names model ${modelName} and it has no default rule`;
  else {
    const by = countedKids.length ? `: ${countedKids.join(', ')}` : '';
    reason = `${counted.size} of ${threshold} required signature${threshold > 1 ? 's' : ''} by kids trusted for ${modelName} under ${ruleText}${by}`;
  }
  return { ...base, ok, counted: counted.size, countedKids, signatures, reason, error: undefined, payload: ok ? payload : undefined };

  function checkSignature(entry: unknown, index: number): SignatureCheck {
    let kid: string | undefined;
    const result = (status: SignatureStatus, reason: string): SignatureCheck => ({ index, kid, status, reason });
    if (!isRecord(entry) || typeof entry.protected !== 'string' || typeof entry.signature !== 'string') {
      return result('malformed', 'needs string members "protected" and "signature"');
    }
    const extra = Object.keys(entry).filter((k) => k !== 'protected' && k !== 'signature');
    if (extra.length) return result('malformed', `unprotected members ${extra.join(', ')} are not accepted`);
    let header: unknown;
    try {
      header = JSON.parse(decodeBase64UrlStrict(entry.protected, 'protected header').toString('utf8'));
    } catch (err) {
      return result('malformed', err instanceof SyntaxError ? 'protected header is not JSON' : errorMessage(err));
    }
    if (!isRecord(header)) return result('malformed', 'protected header is not a JSON object');
    if (typeof header.kid === 'string') kid = header.kid;
    if (header.alg !== 'EdDSA') return result('malformed', `alg ${JSON.stringify(header.alg)} is not accepted (EdDSA only)`);
    if ('crit' in header) return result('malformed', 'crit extensions are not supported');
    if (typeof header.kid !== 'string' || typeof header.typ !== 'string') return result('malformed', 'kid and typ are required in the protected header');
    if (header.typ !== expectedTyp) return result('malformed', `typ is ${JSON.stringify(header.typ)}, expected ${JSON.stringify(expectedTyp)}`);
    let signature: Buffer;
    try {
      signature = decodeBase64UrlStrict(entry.signature, 'signature value');
    } catch (err) {
      return result('malformed', errorMessage(err));
    }
    if (signature.length !== ED25519_SIGNATURE_BYTES) return result('malformed', `an Ed25519 signature has ${ED25519_SIGNATURE_BYTES} bytes, this one ${signature.length}`);

    // The header's kid is read before the signature is checked, but only to pick which key of the
    // keyring (the trusted set) to verify with: every keyring kid is its key's RFC 7638 thumbprint
    // (checked on load), and the signature must then verify under that key. A forged kid can only
    // make a signature fail (unknown-kid, or bad-signature under the key it names), never count.
    const key = keyring.get(header.kid);
    if (!key) {
      const hint = trustedKids.includes(header.kid) ? ` (the policy trusts it for ${modelName}: add its public key to the keyring)` : '';
      return result('unknown-kid', `kid ${header.kid} is not in the keyring${hint}`);
    }
    const signingInput = Buffer.from(`${entry.protected}.${value.payload}`, 'ascii');
    if (!verifyEd25519(signature, signingInput, key.publicKey.raw)) {
      return result('bad-signature', `Ed25519 signature does not verify with kid ${header.kid} (payload or header changed, or not made by this key)`);
    }
    const status: KeyStatus = keyStatus(key, at);
    if (status.state !== 'valid') return result(status.state, `signature verifies, but kid ${header.kid} is ${describeKeyStatus(status)}`);
    if (!match || !trustedKids.includes(header.kid)) {
      return result('untrusted-for-model', `signature verifies, but kid ${header.kid} is not trusted for ${modelName} (${ruleText ?? 'no rule names it'})`);
    }
    if (counted.has(header.kid)) return result('duplicate-kid', `signature verifies, but kid ${header.kid} is counted already (a kid counts once)`);
    return result('valid', `EdDSA signature by kid ${header.kid}, trusted for ${modelName} under ${ruleText}`);
  }
}

/** What makes the JWS as a whole unreadable, or undefined. */
function jwsShapeProblem(jws: unknown, maxSignatures: number): string | undefined {
  if (!isRecord(jws)) return 'not a JSON object';
  const unknownMembers = Object.keys(jws).filter((k) => k !== 'payload' && k !== 'signatures');
  if (unknownMembers.length) return `unexpected members ${unknownMembers.join(', ')} (a general JSON JWS has payload and signatures only)`;
  if (typeof jws.payload !== 'string') return 'payload is missing';
  try {
    decodeBase64UrlStrict(jws.payload, 'payload');
  } catch (err) {
    return errorMessage(err);
  }
  if (!Array.isArray(jws.signatures) || jws.signatures.length === 0) return 'no signatures';
  if (jws.signatures.length > maxSignatures) return `${jws.signatures.length} signatures, more than the ${maxSignatures} accepted`;
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
