// Keyring, trust policy, dual signing for key rotation and t-of-n verification, with real
// Ed25519 keys on disk (generateKeyFiles / loadSigningKey), and jose as the independent verifier.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';
import { encodeBase64Url } from '../src/crypto/base64.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope, verifyEnvelope } from '../src/crypto/dsse.js';
import { signGeneralJws, verifyGeneralJws, type GeneralJws } from '../src/crypto/jws.js';
import { generateKeyFiles, loadSigningKey, type GeneratedKeyFiles, type SigningKey } from '../src/crypto/keys.js';
import { MANIFEST_JWS_TYP } from '../src/bundle/manifest.js';
import { KeyringError, ModelshipError, MultiSignError, TrustPolicyError } from '../src/errors/index.js';
import {
  Keyring,
  checkBundleSignature,
  checkPolicyAgainstKeyring,
  loadKeyring,
  loadTrustPolicy,
  parseKeyring,
  parseTrustPolicy,
  ruleFor,
  saveKeyring,
  signEnvelopeMulti,
  signGeneralJwsMulti,
  verifyJwsWithPolicy,
  loadReleaseSigners,
  type PolicyVerification,
  type TrustPolicy,
} from '../src/trust/index.js';
import { makeSignedBundle } from './helpers/bundle-fixture.js';
import { TempDirs, TEST_PASSPHRASE } from './helpers/fixtures.js';

const temp = new TempDirs();
after(() => temp.cleanup());

const TYP = MANIFEST_JWS_TYP;
const PAYLOAD = Buffer.from('apiVersion: modelship/v1\nkind: ModelManifest\nname: fraud-eu\n', 'utf8');
const T0 = new Date('2025-01-01T00:00:00.000Z');
const NOW = new Date('2025-06-15T12:00:00.000Z');

interface Key {
  readonly files: GeneratedKeyFiles;
  readonly signer: SigningKey;
  readonly kid: string;
}

let keysDir: string;
let oldKey: Key;
let newKey: Key;
let thirdKey: Key;
let outsider: Key;

async function realKey(name: string): Promise<Key> {
  const files = await generateKeyFiles(keysDir, name, TEST_PASSPHRASE);
  const signer = await loadSigningKey(files.privateKeyPath, TEST_PASSPHRASE);
  assert.equal(signer.kid, files.kid);
  return { files, signer, kid: signer.kid };
}

before(async () => {
  keysDir = await temp.make('modelship-trust-');
  [oldKey, newKey, thirdKey, outsider] = await Promise.all(['release-2024', 'release-2025', 'release-third', 'outsider'].map(realKey)) as [Key, Key, Key, Key];
});

/** A keyring in the keys folder with the given keys, valid from T0, public keys by relative path. */
async function keyringWith(keys: readonly Key[], file = `keyring-${Math.random().toString(36).slice(2)}.json`): Promise<Keyring> {
  const keyring = new Keyring({ path: join(keysDir, file) });
  for (const key of keys) await keyring.add({ publicKeyPath: `${key.files.publicKeyPath.slice(keysDir.length + 1)}`, notBefore: T0 });
  return keyring;
}

function policy(rules: object[], defaultRule?: object): TrustPolicy {
  return parseTrustPolicy(JSON.stringify({ version: 1, rules, ...(defaultRule ? { default: defaultRule } : {}) }), { format: 'json' });
}

function verify(jws: unknown, keyring: Keyring, trust: TrustPolicy, modelName = 'fraud-eu', at = NOW): PolicyVerification {
  return verifyJwsWithPolicy(jws, { keyring, policy: trust, modelName, at, expectedTyp: TYP });
}

function statuses(result: PolicyVerification): string[] {
  return result.signatures.map((s) => `${s.index}:${s.kid === undefined ? '-' : s.kid}:${s.status}`);
}

function expected(...pairs: Array<[Key | undefined, string]>): string[] {
  return pairs.map(([key, status], i) => `${i}:${key ? key.kid : '-'}:${status}`);
}

/** Deep copy through JSON, the way a JWS travels in model.jws. */
function clone(jws: GeneralJws): any {
  return JSON.parse(JSON.stringify(jws));
}

describe('signGeneralJwsMulti', () => {
  test('one signature per key, in order, each with its own protected header; each is what signGeneralJws makes alone', () => {
    const jws = signGeneralJwsMulti(PAYLOAD, [oldKey.signer, newKey.signer], TYP);
    assert.deepEqual(Object.keys(jws), ['payload', 'signatures']);
    assert.equal(jws.signatures.length, 2);
    const headers = jws.signatures.map((s) => JSON.parse(Buffer.from(s.protected, 'base64url').toString('utf8')));
    assert.deepEqual(headers, [
      { alg: 'EdDSA', kid: oldKey.kid, typ: TYP },
      { alg: 'EdDSA', kid: newKey.kid, typ: TYP },
    ]);
    assert.deepEqual(jws.signatures[0], signGeneralJws(PAYLOAD, oldKey.signer, TYP).signatures[0]);
    assert.deepEqual(jws.signatures[1], signGeneralJws(PAYLOAD, newKey.signer, TYP).signatures[0]);
    // The existing single-key verifier accepts it with either key.
    assert.equal(verifyGeneralJws(clone(jws), oldKey.signer.publicKey, TYP).header.kid, oldKey.kid);
    assert.equal(verifyGeneralJws(clone(jws), newKey.signer.publicKey, TYP).header.kid, newKey.kid);
  });

  test('signEnvelopeMulti: a DSSE envelope with one signature per key, verifying with either key', () => {
    const body = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}');
    const env = signEnvelopeMulti(body, IN_TOTO_PAYLOAD_TYPE, [oldKey.signer, newKey.signer]);
    assert.deepEqual(env.signatures.map((s) => s.keyid), [oldKey.kid, newKey.kid]);
    assert.deepEqual(env.signatures[1], signEnvelope(body, IN_TOTO_PAYLOAD_TYPE, newKey.signer).signatures[0]);
    for (const key of [oldKey, newKey]) assert.deepEqual(verifyEnvelope(JSON.parse(JSON.stringify(env)), key.signer.publicKey, IN_TOTO_PAYLOAD_TYPE), body);
    assert.throws(() => verifyEnvelope(JSON.parse(JSON.stringify(env)), outsider.signer.publicKey, IN_TOTO_PAYLOAD_TYPE));
    assert.throws(() => signEnvelopeMulti(body, IN_TOTO_PAYLOAD_TYPE, []), MultiSignError);
  });

  test('refuses no keys and the same key twice', () => {
    assert.throws(() => signGeneralJwsMulti(PAYLOAD, [], TYP), MultiSignError);
    assert.throws(() => signGeneralJwsMulti(PAYLOAD, [oldKey.signer, newKey.signer, oldKey.signer], TYP), (err: unknown) => {
      assert.ok(err instanceof MultiSignError && err instanceof ModelshipError);
      assert.equal(err.type, 'MultiSignError');
      assert.equal(err.retryable, false);
      assert.match(err.message, new RegExp(`kid ${oldKey.kid} is given twice`));
      return true;
    });
  });
});

describe('interop with jose', () => {
  test('the dual-signed JWS verifies with jose generalVerify for each key separately', async () => {
    const jws = clone(signGeneralJwsMulti(PAYLOAD, [oldKey.signer, newKey.signer], TYP));
    for (const key of [oldKey, newKey]) {
      const jwk = JSON.parse(await readFile(key.files.publicJwkPath, 'utf8')) as jose.JWK;
      const publicKey = await jose.importJWK(jwk, 'EdDSA');
      const result = await jose.generalVerify(jws, publicKey, { algorithms: ['EdDSA'] });
      assert.deepEqual(Buffer.from(result.payload), PAYLOAD);
      assert.deepEqual(result.protectedHeader, { alg: 'EdDSA', kid: key.kid, typ: TYP });
    }
    // And a key that did not sign is refused by jose (so the loop above can fail).
    const otherKey = await jose.importJWK({ ...outsider.signer.publicKey.jwk }, 'EdDSA');
    await assert.rejects(jose.generalVerify(jws, otherKey), jose.errors.JWSSignatureVerificationFailed);
  });

  test("a JWS made by jose's GeneralSign with two keys verifies under the policy with both counted", async () => {
    const sign = new jose.GeneralSign(PAYLOAD);
    for (const key of [oldKey, newKey]) {
      const privateKey = createPrivateKey({ key: await readFile(key.files.privateKeyPath, 'utf8'), format: 'pem', passphrase: TEST_PASSPHRASE });
      sign.addSignature(privateKey).setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: TYP });
    }
    const jws = await sign.sign();
    const keyring = await keyringWith([oldKey, newKey]);
    const result = verify(jws, keyring, policy([], { trustedKids: [oldKey.kid, newKey.kid], threshold: 2 }));
    assert.equal(result.ok, true, result.reason);
    assert.deepEqual(statuses(result), expected([oldKey, 'valid'], [newKey, 'valid']));
    assert.deepEqual(result.payload, PAYLOAD);
  });
});

describe('rotation by dual signing (policy t=1)', () => {
  const trust = () => policy([], { trustedKids: [oldKey.kid, newKey.kid], threshold: 1 });

  test('verifies with a keyring that knows only the old key, and says the new signature is unknown', async () => {
    const jws = signGeneralJwsMulti(PAYLOAD, [oldKey.signer, newKey.signer], TYP);
    const result = verify(clone(jws), await keyringWith([oldKey]), trust());
    assert.equal(result.ok, true, result.reason);
    assert.equal(result.threshold, 1);
    assert.equal(result.counted, 1);
    assert.deepEqual(result.countedKids, [oldKey.kid]);
    assert.deepEqual(statuses(result), expected([oldKey, 'valid'], [newKey, 'unknown-kid']));
    assert.match(result.signatures[1]!.reason, /not in the keyring \(the policy trusts it for fraud-eu: add its public key to the keyring\)/);
    assert.deepEqual(result.payload, PAYLOAD);
    assert.equal(result.rule, 'the default rule');
  });

  test('verifies with a keyring that knows only the new key', async () => {
    const jws = signGeneralJwsMulti(PAYLOAD, [oldKey.signer, newKey.signer], TYP);
    const result = verify(clone(jws), await keyringWith([newKey]), trust());
    assert.equal(result.ok, true, result.reason);
    assert.deepEqual(result.countedKids, [newKey.kid]);
    assert.deepEqual(statuses(result), expected([oldKey, 'unknown-kid'], [newKey, 'valid']));
  });

  test('verifies with a keyring that knows both, counting both', async () => {
    const jws = signGeneralJwsMulti(PAYLOAD, [oldKey.signer, newKey.signer], TYP);
    const result = verify(clone(jws), await keyringWith([oldKey, newKey]), trust());
    assert.equal(result.ok, true, result.reason);
    assert.equal(result.counted, 2);
    assert.deepEqual(statuses(result), expected([oldKey, 'valid'], [newKey, 'valid']));
    assert.match(result.reason, /^2 of 1 required signature by kids trusted for fraud-eu under the default rule/);
  });

  test('a keyring that knows neither key refuses it, naming both as unknown', async () => {
    const jws = signGeneralJwsMulti(PAYLOAD, [oldKey.signer, newKey.signer], TYP);
    const result = verify(clone(jws), await keyringWith([outsider]), trust());
    assert.equal(result.ok, false);
    assert.equal(result.counted, 0);
    assert.equal(result.payload, undefined);
    assert.deepEqual(statuses(result), expected([oldKey, 'unknown-kid'], [newKey, 'unknown-kid']));
  });

  test('a bundle signed by the old key only still verifies after the keyring gains the new key', async () => {
    const jws = signGeneralJws(PAYLOAD, oldKey.signer, TYP);
    const result = verify(clone(jws), await keyringWith([oldKey, newKey]), trust());
    assert.equal(result.ok, true, result.reason);
    assert.deepEqual(statuses(result), expected([oldKey, 'valid']));
  });
});

describe('revoked, expired and not-yet-valid keys', () => {
  test('a revoked key and an expired key are rejected with their reasons; before those times they were valid', async () => {
    const keyring = await keyringWith([oldKey]);
    await keyring.add({ publicKeyPath: join(keysDir, 'release-2025.pub.jwk.json'), notBefore: T0, notAfter: new Date('2025-03-01T00:00:00Z') });
    keyring.revoke(oldKey.kid, 'private key found in a public bucket', new Date('2025-05-01T00:00:00Z'));
    const jws = clone(signGeneralJwsMulti(PAYLOAD, [oldKey.signer, newKey.signer], TYP));
    const trust = policy([], { trustedKids: [oldKey.kid, newKey.kid], threshold: 1 });

    const result = verify(jws, keyring, trust);
    assert.equal(result.ok, false);
    assert.equal(result.counted, 0);
    assert.deepEqual(statuses(result), expected([oldKey, 'revoked'], [newKey, 'expired']));
    assert.equal(
      result.signatures[0]!.reason,
      `signature verifies, but kid ${oldKey.kid} is revoked at 2025-05-01T00:00:00.000Z: private key found in a public bucket`,
    );
    assert.equal(result.signatures[1]!.reason, `signature verifies, but kid ${newKey.kid} is expired at 2025-03-01T00:00:00.000Z`);
    assert.deepEqual(keyring.status(oldKey.kid, NOW), { state: 'revoked', at: new Date('2025-05-01T00:00:00Z'), reason: 'private key found in a public bucket' });

    // As of a time before the revocation and the expiry, both were good.
    const earlier = verify(jws, keyring, trust, 'fraud-eu', new Date('2025-02-01T00:00:00Z'));
    assert.equal(earlier.ok, true, earlier.reason);
    assert.deepEqual(statuses(earlier), expected([oldKey, 'valid'], [newKey, 'valid']));
    // And before notBefore, not yet valid.
    const tooEarly = verify(jws, keyring, trust, 'fraud-eu', new Date('2024-12-31T23:59:59Z'));
    assert.deepEqual(statuses(tooEarly), expected([oldKey, 'not-yet-valid'], [newKey, 'not-yet-valid']));
    assert.match(tooEarly.signatures[0]!.reason, /not valid before 2025-01-01T00:00:00.000Z/);
  });

  test('a revocation survives a save and load, and a key is revoked once', async () => {
    const keyring = await keyringWith([oldKey, newKey], 'revocation.json');
    await saveKeyring(keyring);
    const loaded = await loadKeyring(join(keysDir, 'revocation.json'));
    loaded.revoke(oldKey.kid, 'rotated out', new Date('2025-05-01T00:00:00Z'));
    await saveKeyring(loaded);
    const again = await loadKeyring(join(keysDir, 'revocation.json'));
    assert.deepEqual(again.get(oldKey.kid)!.revoked, { at: new Date('2025-05-01T00:00:00Z'), reason: 'rotated out' });
    assert.throws(() => again.revoke(oldKey.kid, 'again'), /was revoked already at 2025-05-01T00:00:00.000Z \(rotated out\)/);
    assert.throws(() => again.revoke(thirdKey.kid, 'x'), KeyringError);
    assert.throws(() => again.revoke(newKey.kid, '  '), /needs a reason/);
  });
});

describe('trust for a model name', () => {
  test('a key in the keyring but not trusted for this model name fails as untrusted-for-model', async () => {
    const keyring = await keyringWith([oldKey, outsider]);
    const trust = policy([{ models: ['fraud-*'], trustedKids: [oldKey.kid], threshold: 1 }], { trustedKids: [outsider.kid], threshold: 1 });
    const jws = clone(signGeneralJws(PAYLOAD, outsider.signer, TYP));

    const refused = verify(jws, keyring, trust, 'fraud-eu');
    assert.equal(refused.ok, false);
    assert.equal(refused.rule, 'rules[0] (fraud-*)');
    assert.deepEqual(statuses(refused), expected([outsider, 'untrusted-for-model']));
    assert.equal(refused.signatures[0]!.reason, `signature verifies, but kid ${outsider.kid} is not trusted for fraud-eu (rules[0] (fraud-*))`);

    // The same signature is good for a model the default rule covers.
    const accepted = verify(jws, keyring, trust, 'sample-mlp');
    assert.equal(accepted.ok, true, accepted.reason);
    assert.equal(accepted.rule, 'the default rule');
  });

  test('without a default rule a model no rule names is refused, never trusted by accident', async () => {
    const keyring = await keyringWith([oldKey]);
    const trust = policy([{ models: 'fraud-*', trustedKids: [oldKey.kid], threshold: 1 }]);
    const result = verify(clone(signGeneralJws(PAYLOAD, oldKey.signer, TYP)), keyring, trust, 'sample-mlp');
    assert.equal(result.ok, false);
    assert.equal(result.rule, undefined);
    assert.equal(result.threshold, 0);
    assert.deepEqual(statuses(result), expected([oldKey, 'untrusted-for-model']));
    assert.match(result.reason, /no rule of the trust policy names model sample-mlp and it has no default rule/);
  });

  test('an exact name beats a glob, globs apply in file order, then the default', () => {
    const kid = (k: Key) => k.kid;
    const trust = policy(
      [
        { models: ['fraud-*'], trustedKids: [oldKey.kid], threshold: 1 },
        { models: ['fraud-eu-?', 'fraud-us'], trustedKids: [newKey.kid], threshold: 1 },
        { models: ['*-eu-1'], trustedKids: [thirdKey.kid], threshold: 1 },
      ],
      { trustedKids: [outsider.kid], threshold: 1 },
    );
    const pick = (name: string) => {
      const match = ruleFor(trust, name)!;
      return [match.rule.where, match.matchedBy, match.rule.trustedKids[0]];
    };
    assert.deepEqual(pick('fraud-us'), ['rules[1]', 'fraud-us', kid(newKey)]);
    assert.deepEqual(pick('fraud-eu-1'), ['rules[0]', 'fraud-*', kid(oldKey)]);
    assert.deepEqual(pick('risk-eu-1'), ['rules[2]', '*-eu-1', kid(thirdKey)]);
    assert.deepEqual(pick('fraud'), ['default', 'default', kid(outsider)]);
    assert.deepEqual(pick('fraud-'), ['rules[0]', 'fraud-*', kid(oldKey)]);
    // Dots in a glob are literal.
    const dots = policy([{ models: ['a.b*'], trustedKids: [oldKey.kid], threshold: 1 }]);
    assert.equal(ruleFor(dots, 'axb'), undefined);
    assert.equal(ruleFor(dots, 'a.b2')?.matchedBy, 'a.b*');
  });
});

describe('t of n', () => {
  const trust = () => policy([{ models: ['fraud-*'], trustedKids: [oldKey.kid, newKey.kid, thirdKey.kid], threshold: 2 }]);
  let keyring: Keyring;
  before(async () => {
    keyring = await keyringWith([oldKey, newKey, thirdKey]);
  });

  test('2 of 3 passes with 2 valid signatures (and with 3)', () => {
    const two = verify(clone(signGeneralJwsMulti(PAYLOAD, [newKey.signer, thirdKey.signer], TYP)), keyring, trust());
    assert.equal(two.ok, true, two.reason);
    assert.equal(two.counted, 2);
    assert.deepEqual(two.countedKids, [newKey.kid, thirdKey.kid]);
    const three = verify(clone(signGeneralJwsMulti(PAYLOAD, [oldKey.signer, newKey.signer, thirdKey.signer], TYP)), keyring, trust());
    assert.equal(three.ok, true, three.reason);
    assert.equal(three.counted, 3);
  });

  test('2 of 3 fails with 1 valid and 1 bad signature', () => {
    const jws = clone(signGeneralJwsMulti(PAYLOAD, [oldKey.signer, newKey.signer], TYP));
    const sig = Buffer.from(jws.signatures[1].signature, 'base64url');
    sig[10] = sig[10]! ^ 0x01;
    jws.signatures[1].signature = encodeBase64Url(sig);
    const result = verify(jws, keyring, trust());
    assert.equal(result.ok, false);
    assert.equal(result.counted, 1);
    assert.deepEqual(statuses(result), expected([oldKey, 'valid'], [newKey, 'bad-signature']));
    assert.match(result.signatures[1]!.reason, /does not verify with kid/);
    assert.match(result.reason, /^1 of 2 required signatures/);
    assert.equal(result.payload, undefined);
  });

  test('the same kid signing twice counts once', () => {
    const one = signGeneralJws(PAYLOAD, oldKey.signer, TYP);
    // A second signature by the same key over a different (still valid) protected header.
    const header = encodeBase64Url(JSON.stringify({ typ: TYP, kid: oldKey.kid, alg: 'EdDSA' }));
    const second = { protected: header, signature: encodeBase64Url(oldKey.signer.sign(Buffer.from(`${header}.${one.payload}`, 'ascii'))) };
    const twice = { payload: one.payload, signatures: [one.signatures[0]!, second] };
    const result = verify(clone(twice), keyring, trust());
    assert.equal(result.ok, false);
    assert.equal(result.counted, 1);
    assert.deepEqual(statuses(result), expected([oldKey, 'valid'], [oldKey, 'duplicate-kid']));
    assert.match(result.signatures[1]!.reason, /counted already/);

    // The exact same entry repeated is no different; a second kid then makes it 2 of 3.
    const withNew = { payload: one.payload, signatures: [one.signatures[0]!, one.signatures[0]!, signGeneralJws(PAYLOAD, newKey.signer, TYP).signatures[0]!] };
    const passed = verify(clone(withNew), keyring, trust());
    assert.equal(passed.ok, true, passed.reason);
    assert.equal(passed.counted, 2);
    assert.deepEqual(statuses(passed), expected([oldKey, 'valid'], [oldKey, 'duplicate-kid'], [newKey, 'valid']));
  });

  test('a tampered payload fails every signature as bad-signature', () => {
    const jws = clone(signGeneralJwsMulti(PAYLOAD, [oldKey.signer, newKey.signer, thirdKey.signer], TYP));
    jws.payload = encodeBase64Url(Buffer.from(PAYLOAD.toString('utf8').replace('fraud-eu', 'fraud-us')));
    const result = verify(jws, keyring, trust());
    assert.equal(result.ok, false);
    assert.equal(result.counted, 0);
    assert.deepEqual(statuses(result), expected([oldKey, 'bad-signature'], [newKey, 'bad-signature'], [thirdKey, 'bad-signature']));
    assert.equal(result.payload, undefined);
  });
});

describe('malformed signatures and JWS: reported, never thrown', () => {
  let keyring: Keyring;
  let trust: TrustPolicy;
  before(async () => {
    keyring = await keyringWith([oldKey, newKey]);
    trust = policy([], { trustedKids: [oldKey.kid, newKey.kid], threshold: 1 });
  });

  function signedWithHeader(header: Record<string, unknown>, key: SigningKey = oldKey.signer) {
    const protectedB64 = encodeBase64Url(JSON.stringify(header));
    const payloadB64 = encodeBase64Url(PAYLOAD);
    return { protected: protectedB64, signature: encodeBase64Url(key.sign(Buffer.from(`${protectedB64}.${payloadB64}`, 'ascii'))) };
  }

  test('each bad signature entry is malformed with its reason, and a good one beside them still counts', () => {
    const good = signGeneralJws(PAYLOAD, newKey.signer, TYP).signatures[0]!;
    const canonical = signGeneralJws(PAYLOAD, oldKey.signer, TYP).signatures[0]!;
    const jws = {
      payload: encodeBase64Url(PAYLOAD),
      signatures: [
        signedWithHeader({ alg: 'EdDSA', kid: oldKey.kid, typ: 'JWT' }),
        signedWithHeader({ alg: 'none', kid: oldKey.kid, typ: TYP }),
        signedWithHeader({ alg: 'EdDSA', kid: oldKey.kid, typ: TYP, crit: ['b64'], b64: false }),
        { ...canonical, header: { kid: newKey.kid } },
        { protected: `${canonical.protected}=`, signature: canonical.signature },
        { protected: canonical.protected, signature: canonical.signature.slice(0, -1) },
        { protected: canonical.protected, signature: canonical.signature.slice(0, -2) },
        'not an object',
        good,
      ],
    };
    const result = verify(jws, keyring, trust);
    assert.equal(result.ok, true, result.reason);
    assert.deepEqual(
      result.signatures.map((s) => [s.status, s.reason]),
      [
        ['malformed', `typ is "JWT", expected "${TYP}"`],
        ['malformed', 'alg "none" is not accepted (EdDSA only)'],
        ['malformed', 'crit extensions are not supported'],
        ['malformed', 'unprotected members header are not accepted'],
        ['malformed', 'protected header is not base64url (RFC 4648 section 5, no padding)'],
        ['malformed', 'signature value is not canonical base64url'],
        ['malformed', 'an Ed25519 signature has 64 bytes, this one 63'],
        ['malformed', 'needs string members "protected" and "signature"'],
        ['valid', `EdDSA signature by kid ${newKey.kid}, trusted for fraud-eu under the default rule`],
      ],
    );
  });

  test('an unreadable JWS gives ok false with an error, and no signatures', () => {
    const good = clone(signGeneralJws(PAYLOAD, oldKey.signer, TYP));
    const cases: Array<[unknown, RegExp]> = [
      [null, /not a JSON object/],
      ['a string', /not a JSON object/],
      [{ ...good, extra: 1 }, /unexpected members extra/],
      [{ signatures: good.signatures }, /payload is missing/],
      [{ ...good, payload: `${good.payload}=` }, /payload is not base64url/],
      [{ ...good, signatures: [] }, /no signatures/],
      [{ ...good, signatures: Array.from({ length: 33 }, () => good.signatures[0]) }, /33 signatures, more than the 32 accepted/],
    ];
    for (const [value, pattern] of cases) {
      const result = verify(value, keyring, trust);
      assert.equal(result.ok, false);
      assert.match(result.error ?? '', pattern);
      assert.deepEqual(result.signatures, []);
    }
  });

  test('an invalid time is a programming error and throws (it would make every key valid)', () => {
    assert.throws(() => verify(clone(signGeneralJws(PAYLOAD, oldKey.signer, TYP)), keyring, trust, 'fraud-eu', new Date('nope')), KeyringError);
  });
});

describe('keyring file', () => {
  test('save and load round-trip: relative paths, inline JWK, dates, labels, private key path; kids checked', async () => {
    const path = join(keysDir, 'roundtrip.json');
    const keyring = new Keyring({ path });
    await keyring.add({ publicKeyPath: 'release-2024.pub.pem', privateKeyPath: 'release-2024.key.pem', notBefore: T0, notAfter: new Date('2026-01-01T00:00:00Z'), labels: { owner: 'ml-platform' } });
    await keyring.add({ jwk: newKey.signer.publicKey.jwk, kid: newKey.kid, notBefore: new Date('2025-06-01T00:00:00Z') });
    await saveKeyring(keyring);
    const file = JSON.parse(await readFile(path, 'utf8'));
    assert.deepEqual(file, {
      version: 1,
      keys: [
        {
          kid: oldKey.kid,
          publicKeyPath: 'release-2024.pub.pem',
          privateKeyPath: 'release-2024.key.pem',
          notBefore: '2025-01-01T00:00:00.000Z',
          notAfter: '2026-01-01T00:00:00.000Z',
          labels: { owner: 'ml-platform' },
        },
        { kid: newKey.kid, jwk: { kty: 'OKP', crv: 'Ed25519', x: newKey.signer.publicKey.jwk.x }, notBefore: '2025-06-01T00:00:00.000Z' },
      ],
    });
    const loaded = await loadKeyring(path);
    assert.deepEqual(loaded.entries.map((e) => e.kid), [oldKey.kid, newKey.kid]);
    assert.deepEqual(loaded.get(oldKey.kid)!.publicKey.raw, oldKey.signer.publicKey.raw);
    assert.equal(loaded.resolvePath(loaded.get(oldKey.kid)!.privateKeyPath!), oldKey.files.privateKeyPath);
    assert.deepEqual(loaded.status(newKey.kid, new Date('2025-05-31T00:00:00Z')), { state: 'not-yet-valid', notBefore: new Date('2025-06-01T00:00:00Z') });
    // Only the old key has a private key here, so it is the one signer.
    assert.deepEqual(loaded.activeSigners(NOW).map((e) => e.kid), [oldKey.kid]);
    await assert.rejects(loaded.add({ publicKeyPath: 'release-2024.pub.jwk.json' }), /is in the keyring already/);
    // Retiring the old key after a rotation's overlap: the end can move earlier, never later.
    loaded.expire(oldKey.kid, new Date('2025-07-01T00:00:00Z'));
    assert.deepEqual(loaded.status(oldKey.kid, new Date('2025-07-01T00:00:00Z')), { state: 'expired', notAfter: new Date('2025-07-01T00:00:00Z') });
    assert.throws(() => loaded.expire(oldKey.kid, new Date('2025-08-01T00:00:00Z')), /is never extended/);
    assert.throws(() => loaded.expire(oldKey.kid, new Date('2024-08-01T00:00:00Z')), /must be after kid .*'s notBefore/);
    await assert.rejects(loaded.add({ publicKeyPath: 'release-third.pub.pem', kid: oldKey.kid }), /is not its RFC 7638 thumbprint/);
  });

  test('a save refuses to overwrite a change made on disk since the load', async () => {
    const path = join(keysDir, 'concurrent.json');
    await saveKeyring(await keyringWith([oldKey], 'concurrent.json'));
    const a = await loadKeyring(path);
    const b = await loadKeyring(path);
    a.revoke(oldKey.kid, 'compromised');
    await saveKeyring(a);
    await b.add({ publicKeyPath: 'release-2025.pub.pem' });
    await assert.rejects(saveKeyring(b), (err: unknown) => err instanceof KeyringError && /changed on disk since it was loaded/.test(err.message));
    assert.ok((await loadKeyring(path)).get(oldKey.kid)!.revoked, 'the revocation was kept');
    // A missing keyring is an error, unless asked for (first rotation on a host).
    await assert.rejects(loadKeyring(join(keysDir, 'missing.json')), /cannot read the keyring/);
    assert.equal((await loadKeyring(join(keysDir, 'missing.json'), { allowMissing: true })).size, 0);
  });

  test('validation errors are clear: bad kid, unknown fields, dates, duplicates', async () => {
    const entry = { kid: oldKey.kid, publicKeyPath: 'release-2024.pub.pem', notBefore: '2025-01-01T00:00:00Z' };
    const cases: Array<[unknown, string | RegExp]> = [
      [{ version: 1, keys: [{ ...entry, kid: newKey.kid }] }, `kid does not match its key: the RFC 7638 thumbprint of release-2024.pub.pem is ${oldKey.kid}`],
      [
        { version: 1, keys: [{ kid: newKey.kid, jwk: oldKey.signer.publicKey.jwk, notBefore: '2025-01-01T00:00:00Z' }] },
        `kid does not match its key: the RFC 7638 thumbprint of the jwk is ${oldKey.kid}`,
      ],
      [{ version: 1, keys: [{ ...entry, expires: '2026-01-01T00:00:00Z' }] }, /unknown field keys\[0\] \(kid .*\)\.expires \(allowed: kid, publicKeyPath, jwk/],
      [{ version: 1, keys: [entry], extra: true }, /unknown field extra \(allowed: version, keys\)/],
      [{ version: 2, keys: [] }, /version must be 1, got 2/],
      [{ version: 1, keys: [{ ...entry, notBefore: '2025-01-01' }] }, /notBefore must be an ISO 8601 time with a zone/],
      [{ version: 1, keys: [{ ...entry, notAfter: '2024-01-01T00:00:00Z' }] }, /notAfter 2024-01-01T00:00:00Z must be after notBefore/],
      [{ version: 1, keys: [{ ...entry, revoked: { at: '2025-02-01T00:00:00Z' } }] }, /revoked\.reason must be a non-empty string/],
      [{ version: 1, keys: [entry, entry] }, /is listed twice/],
      [{ version: 1, keys: [{ ...entry, publicKeyPath: 'nope.pub.pem' }] }, /publicKeyPath: cannot read the public key/],
      [{ version: 1, keys: [{ ...entry, jwk: oldKey.signer.publicKey.jwk }] }, /needs exactly one of publicKeyPath and jwk/],
    ];
    for (const [doc, pattern] of cases) {
      await assert.rejects(parseKeyring(JSON.stringify(doc), { path: join(keysDir, 'bad.json') }), (err: unknown) => {
        assert.ok(err instanceof KeyringError, `expected KeyringError, got ${String(err)}`);
        assert.equal(err.type, 'KeyringError');
        assert.equal(err.retryable, false);
        if (typeof pattern === 'string') assert.ok(err.message.includes(pattern), err.message);
        else assert.match(err.message, pattern);
        assert.ok(err.message.startsWith(join(keysDir, 'bad.json')), 'names the file');
        return true;
      });
    }
    await assert.rejects(parseKeyring('{ "version": 1,'), /keyring: not valid JSON/);
  });
});

describe('trust policy file', () => {
  test('YAML and JSON files load to the same policy', async () => {
    const dir = await temp.make('modelship-policy-');
    const yamlPath = join(dir, 'trust-policy.yaml');
    await writeFile(
      yamlPath,
      [
        'version: 1',
        'rules:',
        '  - models: [fraud-*]',
        `    trustedKids: [${oldKey.kid}, ${newKey.kid}, ${thirdKey.kid}]`,
        '    threshold: 2',
        '    description: fraud models need two release managers',
        'default:',
        '  trustedKids:',
        `    - ${oldKey.kid}`,
        '  threshold: 1',
        '',
      ].join('\n'),
    );
    const jsonPath = join(dir, 'trust-policy.json');
    await writeFile(
      jsonPath,
      JSON.stringify({
        version: 1,
        rules: [{ models: ['fraud-*'], trustedKids: [oldKey.kid, newKey.kid, thirdKey.kid], threshold: 2, description: 'fraud models need two release managers' }],
        default: { trustedKids: [oldKey.kid], threshold: 1 },
      }),
    );
    const fromYaml = await loadTrustPolicy(yamlPath);
    const fromJson = await loadTrustPolicy(jsonPath);
    assert.deepEqual({ ...fromYaml, source: '' }, { ...fromJson, source: '' });
    assert.equal(fromYaml.rules[0]!.threshold, 2);
    assert.equal(fromYaml.default!.trustedKids[0], oldKey.kid);

    // Against a keyring: kids it does not know, and thresholds the valid keys cannot meet.
    const keyring = await keyringWith([oldKey, newKey]);
    keyring.revoke(newKey.kid, 'rotated out', T0);
    assert.deepEqual(checkPolicyAgainstKeyring(fromYaml, keyring, NOW), [
      `rules[0]: kid ${newKey.kid} is revoked`,
      `rules[0]: kid ${thirdKey.kid} is not in the keyring`,
      'rules[0]: only 1 of its trusted kids are valid at 2025-06-15T12:00:00.000Z, fewer than its threshold 2: nothing can verify under it',
    ]);
  });

  test('validation errors are clear: unknown fields, threshold > n, bad kids, bad globs, duplicates', () => {
    const rule = { models: ['fraud-*'], trustedKids: [oldKey.kid, newKey.kid], threshold: 1 };
    const cases: Array<[unknown, string | RegExp]> = [
      [{ version: 1, rules: [{ ...rule, trustedKid: [oldKey.kid] }] }, 'unknown field rules[0].trustedKid (allowed: models, trustedKids, threshold, description)'],
      [{ version: 1, rules: [rule], defaults: {} }, 'unknown field defaults (allowed: version, rules, default)'],
      [{ version: 1, default: { ...rule } }, 'unknown field default.models (allowed: trustedKids, threshold, description)'],
      [{ version: 1, rules: [{ ...rule, threshold: 3 }] }, 'rules[0].threshold 3 is more than the 2 trusted kids: it could never be met'],
      [{ version: 1, rules: [{ ...rule, threshold: 0 }] }, 'rules[0].threshold must be a whole number from 1 to 2, got 0'],
      [{ version: 1, rules: [{ ...rule, threshold: 1.5 }] }, 'rules[0].threshold must be a whole number from 1 to 2, got 1.5'],
      [{ version: 1, rules: [{ models: rule.models, trustedKids: rule.trustedKids }] }, 'rules[0].threshold is required: how many of the 2 trusted kids must sign (1 to 2)'],
      [{ version: 1, rules: [{ ...rule, trustedKids: [oldKey.kid, 'release-2024'] }] }, 'rules[0].trustedKids[1] "release-2024" is not a kid (an RFC 7638 SHA-256 thumbprint: 43 base64url characters'],
      [{ version: 1, rules: [{ ...rule, trustedKids: [oldKey.kid, oldKey.kid] }] }, `rules[0].trustedKids[1] ${oldKey.kid} is listed twice`],
      [{ version: 1, rules: [{ ...rule, trustedKids: [] }] }, 'rules[0].trustedKids must be a non-empty list of kids'],
      [{ version: 1, rules: [{ ...rule, models: ['fraud-[ab]'] }] }, `rules[0].models[0] "fraud-[ab]" is not a model name or glob`],
      [{ version: 1, rules: [{ ...rule, models: [] }] }, 'rules[0].models must be a model name or glob, or a non-empty list of them'],
      [{ version: 1, rules: [rule, { ...rule, models: ['fraud-us', 'fraud-*'] }] }, 'rules[1].models[1] "fraud-*" is in rules[0] already: a name or glob may be in one rule only'],
      [{ version: 1, rules: [] }, 'has no rules and no default: it would trust nothing'],
      [{ rules: [rule] }, 'version must be 1, got undefined'],
      [[rule], 'must be a mapping with version, rules and (optionally) default'],
    ];
    for (const [doc, message] of cases) {
      assert.throws(
        () => parseTrustPolicy(JSON.stringify(doc), { source: 'policy.json', format: 'json' }),
        (err: unknown) => {
          assert.ok(err instanceof TrustPolicyError, `expected TrustPolicyError, got ${String(err)}`);
          assert.equal(err.type, 'TrustPolicyError');
          assert.equal(err.retryable, false);
          if (typeof message === 'string') assert.ok(err.message.startsWith(`policy.json: ${message}`), `${err.message}\n  expected: policy.json: ${message}`);
          else assert.match(err.message, message);
          return true;
        },
      );
    }
    assert.throws(() => parseTrustPolicy('version: 1\nrules: [\n', { source: 'p.yaml' }), /p\.yaml: not valid YAML/);
    assert.throws(() => parseTrustPolicy('version: 1\nversion: 1\n'), /not valid YAML: .*unique/i);
    // Anchors may share a kid list between rules; unknown fields are still refused.
    const shared = parseTrustPolicy(`version: 1\nrules:\n  - models: a-*\n    trustedKids: &k [${oldKey.kid}]\n    threshold: 1\ndefault:\n  trustedKids: *k\n  threshold: 1\n`);
    assert.deepEqual(shared.default!.trustedKids, [oldKey.kid]);
    assert.throws(() => parseTrustPolicy('version: 1\nx: &a [1]\ny: *a\n'), /unknown fields x, y/);
  });
});

describe('a release bundle under the policy', () => {
  test('checkBundleSignature applies the rule for the name in model.yaml and ties the payload to it', async () => {
    const dir = await temp.make('modelship-trust-bundle-');
    const bundle = await makeSignedBundle(join(dir, 'bundle'), oldKey.signer, { name: 'fraud-eu' });
    const manifestBytes = await readFile(bundle.paths.manifest);
    await writeFile(bundle.paths.signature, JSON.stringify(signGeneralJwsMulti(manifestBytes, [oldKey.signer, newKey.signer], TYP), null, 2) + '\n');
    const keyring = await keyringWith([oldKey, newKey, outsider]);
    const trust = policy([{ models: ['fraud-*'], trustedKids: [oldKey.kid, newKey.kid], threshold: 2 }], { trustedKids: [outsider.kid], threshold: 1 });

    const good = await checkBundleSignature(bundle.bundleDir, { keyring, policy: trust, at: NOW });
    assert.equal(good.ok, true, good.detail);
    assert.match(good.detail, /^model\.jws over model\.yaml: 2 of 2 required signatures by kids trusted for fraud-eu under rules\[0\] \(fraud-\*\)/);

    // Signed by a key the default rule trusts, but model.yaml names a fraud model: refused.
    await writeFile(bundle.paths.signature, JSON.stringify(signGeneralJws(manifestBytes, outsider.signer, TYP)));
    const wrongKey = await checkBundleSignature(bundle.bundleDir, { keyring, policy: trust, at: NOW });
    assert.equal(wrongKey.ok, false);
    assert.match(wrongKey.detail, /signature 0: untrusted-for-model/);

    // A JWS that verifies over other bytes than model.yaml: refused.
    await writeFile(bundle.paths.signature, JSON.stringify(signGeneralJwsMulti(PAYLOAD, [oldKey.signer, newKey.signer], TYP)));
    const other = await checkBundleSignature(bundle.bundleDir, { keyring, policy: trust, at: NOW });
    assert.equal(other.ok, false);
    assert.match(other.detail, /their payload is not the model\.yaml in the bundle/);
  });
});

describe('loadReleaseSigners (the sign activity during a rotation)', () => {
  test('without a keyring: the one key; with one: every valid signer, the requested key required to be valid', async () => {
    const dir = await temp.make('modelship-signers-');
    const a = await generateKeyFiles(dir, 'release', TEST_PASSPHRASE);
    assert.deepEqual((await loadReleaseSigners(a.privateKeyPath, TEST_PASSPHRASE)).map((k) => k.kid), [a.kid]);

    const b = await generateKeyFiles(dir, 'release-2025', TEST_PASSPHRASE);
    const keyring = new Keyring({ path: join(dir, 'keyring.json') });
    await keyring.add({ publicKeyPath: 'release.pub.pem', privateKeyPath: 'release.key.pem', notBefore: T0 });
    await keyring.add({ publicKeyPath: 'release-2025.pub.pem', privateKeyPath: 'release-2025.key.pem', notBefore: new Date('2025-06-01T00:00:00Z') });
    await keyring.add({ publicKeyPath: join(keysDir, 'outsider.pub.pem'), notBefore: T0 }); // verifies only: no private key here
    await saveKeyring(keyring);

    const before = await loadReleaseSigners(a.privateKeyPath, TEST_PASSPHRASE, { at: new Date('2025-05-01T00:00:00Z') });
    assert.deepEqual(before.map((k) => k.kid), [a.kid]);
    const during = await loadReleaseSigners(b.privateKeyPath, TEST_PASSPHRASE, { at: NOW });
    assert.deepEqual(during.map((k) => k.kid), [a.kid, b.kid]);
    // Both sign, and the JWS verifies with either.
    const jws = signGeneralJwsMulti(PAYLOAD, during, TYP);
    for (const key of during) assert.equal(verifyGeneralJws(clone(jws), key.publicKey, TYP).header.kid, key.kid);

    keyring.revoke(a.kid, 'rotated out', new Date('2025-06-10T00:00:00Z'));
    await saveKeyring(keyring);
    assert.deepEqual((await loadReleaseSigners(b.privateKeyPath, TEST_PASSPHRASE, { at: NOW })).map((k) => k.kid), [b.kid]);
    await assert.rejects(loadReleaseSigners(a.privateKeyPath, TEST_PASSPHRASE, { at: NOW }), (err: unknown) => {
      assert.ok(err instanceof KeyringError);
      assert.match(err.message, /is revoked at 2025-06-10T00:00:00.000Z: rotated out/);
      return true;
    });
    await assert.rejects(loadReleaseSigners(thirdKey.files.privateKeyPath, TEST_PASSPHRASE, { keyringPath: join(dir, 'keyring.json'), at: NOW }), /is not in the keyring/);
  });
});
