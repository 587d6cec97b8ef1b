// JWS (general JSON serialization, EdDSA): interop with jose both ways, and every way a
// JWS can be wrong is rejected with a reason.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';
import { encodeBase64Url } from '../src/crypto/base64.js';
import { signGeneralJws, verifyGeneralJws, JwsVerificationError, type GeneralJws } from '../src/crypto/jws.js';
import { publicKeyFromRaw, type PublicKey } from '../src/crypto/keys.js';
import { MANIFEST_JWS_TYP } from '../src/bundle/manifest.js';
import { makeKeys, TempDirs, type TestKeys } from './helpers/fixtures.js';

const temp = new TempDirs();
after(() => temp.cleanup());

const TYP = MANIFEST_JWS_TYP;
const PAYLOAD = Buffer.from('apiVersion: modelship/v1\nkind: ModelManifest\nname: "ünïcode ✓"\n', 'utf8');

let keys: TestKeys;
let other: TestKeys;
before(async () => {
  const dir = await temp.make('modelship-jws-');
  keys = await makeKeys(dir, 'release');
  other = await makeKeys(dir, 'other');
});

/** Deep copy through JSON, the way a JWS travels in model.jws. */
function clone(jws: unknown): any {
  return JSON.parse(JSON.stringify(jws));
}

/** A JWS with any protected header, signed correctly by `keys` over that header: only the header is wrong. */
function signWithHeader(header: Record<string, unknown>, payload: Uint8Array = PAYLOAD): GeneralJws {
  const protectedB64 = encodeBase64Url(JSON.stringify(header));
  const payloadB64 = encodeBase64Url(payload);
  const signature = keys.signingKey.sign(Buffer.from(`${protectedB64}.${payloadB64}`, 'ascii'));
  return { payload: payloadB64, signatures: [{ protected: protectedB64, signature: encodeBase64Url(signature) }] };
}

function rejectsWith(value: unknown, pattern: RegExp, key: PublicKey = keys.publicKey, typ = TYP): void {
  assert.throws(
    () => verifyGeneralJws(value, key, typ),
    (err: unknown) => {
      assert.ok(err instanceof JwsVerificationError, `expected JwsVerificationError, got ${String(err)}`);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('our JWS read by jose', () => {
  test('verifies with generalVerify and the public JWK; jose sees alg EdDSA, our kid and typ', async () => {
    const jws = clone(signGeneralJws(PAYLOAD, keys.signingKey, TYP));
    const jwkFile = JSON.parse(await readFile(keys.files.publicJwkPath, 'utf8')) as jose.JWK;
    const publicKey = await jose.importJWK(jwkFile, 'EdDSA');
    const result = await jose.generalVerify(jws, publicKey, { algorithms: ['EdDSA'] });
    assert.deepEqual(Buffer.from(result.payload), PAYLOAD);
    assert.deepEqual(result.protectedHeader, { alg: 'EdDSA', kid: keys.signingKey.kid, typ: TYP });
    assert.equal(result.unprotectedHeader, undefined);
  });

  test('jose rejects it with another key and with a changed payload (so the check above can fail)', async () => {
    const jws = clone(signGeneralJws(PAYLOAD, keys.signingKey, TYP));
    const otherKey = await jose.importJWK({ ...other.publicKey.jwk }, 'EdDSA');
    await assert.rejects(jose.generalVerify(jws, otherKey), jose.errors.JWSSignatureVerificationFailed);
    const changed = clone(jws);
    changed.payload = encodeBase64Url(Buffer.concat([PAYLOAD, Buffer.from('#')]));
    const ours = await jose.importJWK({ ...keys.publicKey.jwk }, 'EdDSA');
    await assert.rejects(jose.generalVerify(changed, ours), jose.errors.JWSSignatureVerificationFailed);
  });

  test('the signature is deterministic (Ed25519) and the shape is exactly { payload, signatures: [{ protected, signature }] }', () => {
    const a = signGeneralJws(PAYLOAD, keys.signingKey, TYP);
    const b = signGeneralJws(PAYLOAD, keys.signingKey, TYP);
    assert.deepEqual(a, b);
    assert.deepEqual(Object.keys(a), ['payload', 'signatures']);
    assert.equal(a.signatures.length, 1);
    assert.deepEqual(Object.keys(a.signatures[0]!), ['protected', 'signature']);
    assert.equal(a.payload, Buffer.from(PAYLOAD).toString('base64url'));
  });
});

describe('jose-made JWS read by us', () => {
  test('verifies with verifyGeneralJws and gives back the payload and header', async () => {
    const privateKey = createPrivateKey({ key: await readFile(keys.files.privateKeyPath, 'utf8'), passphrase: keys.passphrase });
    const jws = await new jose.GeneralSign(PAYLOAD)
      .addSignature(privateKey)
      .setProtectedHeader({ alg: 'EdDSA', kid: keys.signingKey.kid, typ: TYP })
      .sign();
    const verified = verifyGeneralJws(clone(jws), keys.publicKey, TYP);
    assert.deepEqual(verified.payload, PAYLOAD);
    assert.deepEqual(verified.header, { alg: 'EdDSA', kid: keys.signingKey.kid, typ: TYP });
  });

  test('a jose JWS with two signatures (key rotation) verifies with either key', async () => {
    const k1 = createPrivateKey({ key: await readFile(keys.files.privateKeyPath, 'utf8'), passphrase: keys.passphrase });
    const k2 = createPrivateKey({ key: await readFile(other.files.privateKeyPath, 'utf8'), passphrase: other.passphrase });
    const sign = new jose.GeneralSign(PAYLOAD);
    sign.addSignature(k2).setProtectedHeader({ alg: 'EdDSA', kid: other.signingKey.kid, typ: TYP });
    sign.addSignature(k1).setProtectedHeader({ alg: 'EdDSA', kid: keys.signingKey.kid, typ: TYP });
    const jws = clone(await sign.sign());
    assert.equal(verifyGeneralJws(jws, keys.publicKey, TYP).header.kid, keys.signingKey.kid);
    assert.equal(verifyGeneralJws(jws, other.publicKey, TYP).header.kid, other.signingKey.kid);
  });

  test('a jose JWS by another key is rejected', async () => {
    const k2 = createPrivateKey({ key: await readFile(other.files.privateKeyPath, 'utf8'), passphrase: other.passphrase });
    const jws = await new jose.GeneralSign(PAYLOAD)
      .addSignature(k2)
      .setProtectedHeader({ alg: 'EdDSA', kid: other.signingKey.kid, typ: TYP })
      .sign();
    rejectsWith(clone(jws), /made by kid .* not the given key/);
  });
});

describe('verifyGeneralJws rejects', () => {
  test('a signature by another key (different kid), saying whose it is', () => {
    const jws = clone(signGeneralJws(PAYLOAD, other.signingKey, TYP));
    rejectsWith(jws, new RegExp(`made by kid ${other.signingKey.kid}, not the given key ${keys.publicKey.kid}`));
  });

  test('a signature by another key that claims our kid', () => {
    // Sign with the other key but put our kid in the header: the kid matches, the maths must not.
    const header = { alg: 'EdDSA', kid: keys.signingKey.kid, typ: TYP };
    const protectedB64 = encodeBase64Url(JSON.stringify(header));
    const payloadB64 = encodeBase64Url(PAYLOAD);
    const signature = other.signingKey.sign(Buffer.from(`${protectedB64}.${payloadB64}`, 'ascii'));
    const jws = { payload: payloadB64, signatures: [{ protected: protectedB64, signature: encodeBase64Url(signature) }] };
    rejectsWith(jws, /Ed25519 signature does not verify with kid/);
  });

  test('the right signature checked against a different public key carrying our kid', () => {
    const impostor: PublicKey = { ...publicKeyFromRaw(other.publicKey.raw), kid: keys.publicKey.kid };
    rejectsWith(clone(signGeneralJws(PAYLOAD, keys.signingKey, TYP)), /Ed25519 signature does not verify/, impostor);
  });

  test('a changed payload', () => {
    const jws = clone(signGeneralJws(PAYLOAD, keys.signingKey, TYP));
    const changed = Buffer.from(PAYLOAD);
    changed[0]! ^= 0x01;
    jws.payload = encodeBase64Url(changed);
    rejectsWith(jws, /Ed25519 signature does not verify/);
    // A payload one byte longer as well.
    jws.payload = encodeBase64Url(Buffer.concat([PAYLOAD, Buffer.from('\n')]));
    rejectsWith(jws, /Ed25519 signature does not verify/);
  });

  test('a changed signature byte', () => {
    const jws = clone(signGeneralJws(PAYLOAD, keys.signingKey, TYP));
    for (const index of [0, 31, 32, 63]) {
      const sig = Buffer.from(jws.signatures[0].signature, 'base64url');
      sig[index]! ^= 0x01;
      const copy = clone(jws);
      copy.signatures[0].signature = encodeBase64Url(sig);
      rejectsWith(copy, /Ed25519 signature does not verify/);
    }
  });

  test('a non-canonical base64url signature (unused low bits of the last character set)', () => {
    const jws = clone(signGeneralJws(PAYLOAD, keys.signingKey, TYP));
    const sig: string = jws.signatures[0].signature;
    assert.equal(sig.length, 86); // 64 bytes: 86 characters, the last one carries 2 bits + 4 unused
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(sig.at(-1)!);
    assert.equal(last & 0x0f, 0, 'a canonical encoding leaves the unused bits zero');
    for (const lowBits of [0x01, 0x02, 0x04, 0x08, 0x0f]) {
      const tweaked = sig.slice(0, -1) + alphabet[last | lowBits];
      // Lenient decoders give the very same bytes back, which is exactly the danger.
      assert.deepEqual(Buffer.from(tweaked, 'base64url'), Buffer.from(sig, 'base64url'));
      const copy = clone(jws);
      copy.signatures[0].signature = tweaked;
      rejectsWith(copy, /signature 0 value is not canonical base64url/);
    }
  });

  test('padding, whitespace or standard-base64 characters in any part', () => {
    const jws = clone(signGeneralJws(Buffer.from('ab'), keys.signingKey, TYP));
    rejectsWith({ ...jws, payload: `${jws.payload}=` }, /payload is not base64url/);
    rejectsWith({ ...jws, payload: `${jws.payload.slice(0, 1)} ${jws.payload.slice(1)}` }, /payload is not base64url/);
    for (const ch of ['+', '/', '=', '\n']) {
      const copy = clone(jws);
      copy.signatures[0].signature = ch + jws.signatures[0].signature.slice(1);
      rejectsWith(copy, /signature 0 value is not base64url/);
    }
    const paddedHeader = clone(jws);
    paddedHeader.signatures[0].protected += '==';
    rejectsWith(paddedHeader, /signature 0 protected header is not base64url/);
  });

  test("alg 'none', 'HS256', 'ES256' and 'Ed25519' even when the Ed25519 signature is valid", () => {
    for (const alg of ['none', 'HS256', 'ES256', 'Ed25519', 'eddsa']) {
      rejectsWith(signWithHeader({ alg, kid: keys.signingKey.kid, typ: TYP }), new RegExp(`alg "${alg}" is not accepted \\(EdDSA only\\)`));
    }
    rejectsWith(signWithHeader({ kid: keys.signingKey.kid, typ: TYP }), /alg undefined is not accepted/);
    // The classic alg=none token: empty signature.
    const none = signWithHeader({ alg: 'none', kid: keys.signingKey.kid, typ: TYP });
    rejectsWith({ payload: none.payload, signatures: [{ protected: none.signatures[0]!.protected, signature: '' }] }, /alg "none" is not accepted/);
  });

  test('a wrong or missing typ, even when the signature is valid', () => {
    rejectsWith(signWithHeader({ alg: 'EdDSA', kid: keys.signingKey.kid, typ: 'JWT' }), new RegExp(`typ is "JWT", expected "${TYP.replace('+', '\\+')}"`));
    rejectsWith(clone(signGeneralJws(PAYLOAD, keys.signingKey, 'modelship-manifest+json')), /typ is "modelship-manifest\+json"/);
    rejectsWith(signWithHeader({ alg: 'EdDSA', kid: keys.signingKey.kid }), /kid and typ are required/);
    rejectsWith(signWithHeader({ alg: 'EdDSA', typ: TYP }), /kid and typ are required/);
  });

  test('an unprotected "header" member, even one that only repeats the protected values', () => {
    const jws = clone(signGeneralJws(PAYLOAD, keys.signingKey, TYP));
    jws.signatures[0].header = { kid: keys.signingKey.kid };
    rejectsWith(jws, /signature 0: unprotected members header are not accepted/);
  });

  test('crit extensions, a non-JSON or non-object protected header', () => {
    rejectsWith(signWithHeader({ alg: 'EdDSA', kid: keys.signingKey.kid, typ: TYP, crit: ['b64'], b64: false }), /crit extensions are not supported/);
    const notJson = clone(signGeneralJws(PAYLOAD, keys.signingKey, TYP));
    notJson.signatures[0].protected = encodeBase64Url('{"alg":"EdDSA",');
    rejectsWith(notJson, /protected header is not JSON/);
    const array = clone(signGeneralJws(PAYLOAD, keys.signingKey, TYP));
    array.signatures[0].protected = encodeBase64Url('["EdDSA"]');
    rejectsWith(array, /protected header is not an object/);
  });

  test('a changed protected header (re-encoded with another kid or typ) breaks the signature', () => {
    const jws = clone(signGeneralJws(PAYLOAD, keys.signingKey, TYP));
    // Same header, different JSON spelling: the signature covers the encoded bytes, not the meaning.
    jws.signatures[0].protected = encodeBase64Url(JSON.stringify({ typ: TYP, kid: keys.signingKey.kid, alg: 'EdDSA' }));
    rejectsWith(jws, /Ed25519 signature does not verify/);
  });

  test('wrong shapes: not an object, extra top-level members, no payload, no signatures, bad entries', () => {
    const good = clone(signGeneralJws(PAYLOAD, keys.signingKey, TYP));
    rejectsWith(null, /not a JSON object/);
    rejectsWith([good], /not a JSON object/);
    rejectsWith('compact.jws.string', /not a JSON object/);
    rejectsWith({ ...good, protected: good.signatures[0].protected }, /unexpected members protected/);
    rejectsWith({ ...good, header: {} }, /unexpected members header/);
    rejectsWith({ signatures: good.signatures }, /payload is missing/);
    rejectsWith({ payload: good.payload, signatures: [] }, /no signatures/);
    rejectsWith({ payload: good.payload, signatures: good.signatures[0] }, /no signatures/);
    rejectsWith({ payload: good.payload, signatures: [null] }, /signature 0: needs string members/);
    rejectsWith({ payload: good.payload, signatures: [{ protected: good.signatures[0].protected }] }, /signature 0: needs string members/);
    // Flattened serialization is a different shape and is not accepted.
    rejectsWith({ payload: good.payload, protected: good.signatures[0].protected, signature: good.signatures[0].signature }, /unexpected members/);
  });

  test('every reason is listed when no signature verifies', () => {
    const a = clone(signGeneralJws(PAYLOAD, other.signingKey, TYP));
    const b = clone(signGeneralJws(Buffer.from('different'), keys.signingKey, TYP));
    const jws = { payload: a.payload, signatures: [a.signatures[0], { ...b.signatures[0] }] };
    rejectsWith(jws, /signature 0: made by kid .*; signature 1: Ed25519 signature does not verify/);
  });

  test('and still accepts the untouched JWS (so every rejection above is about the change)', () => {
    const verified = verifyGeneralJws(clone(signGeneralJws(PAYLOAD, keys.signingKey, TYP)), keys.publicKey, TYP);
    assert.deepEqual(verified.payload, PAYLOAD);
    const empty = verifyGeneralJws(clone(signGeneralJws(new Uint8Array(0), keys.signingKey, TYP)), keys.publicKey, TYP);
    assert.equal(empty.payload.length, 0);
  });
});
