// DSSE envelopes: PAE exactly as the spec lays it out, signatures checkable with node:crypto
// alone, and every tampered part rejected with a reason.
import assert from 'node:assert/strict';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { IN_TOTO_PAYLOAD_TYPE, pae, signEnvelope, verifyEnvelope, DsseVerificationError, type DsseEnvelope } from '../src/crypto/dsse.js';
import { makeKeys, TempDirs, type TestKeys } from './helpers/fixtures.js';

const temp = new TempDirs();
after(() => temp.cleanup());

let keys: TestKeys;
let other: TestKeys;
before(async () => {
  const dir = await temp.make('modelship-dsse-');
  keys = await makeKeys(dir, 'release');
  other = await makeKeys(dir, 'other');
});

const STATEMENT = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'm@1', digest: { sha256: 'ab'.repeat(32) } }], note: 'ünï ✓' }), 'utf8');

/** PAE written out independently of src/crypto/dsse.ts, straight from the DSSE v1 protocol text. */
function paeByHand(payloadType: string, body: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from('DSSEv1', 'ascii'),
    Buffer.from(' ', 'ascii'),
    Buffer.from(String(type.byteLength), 'ascii'),
    Buffer.from(' ', 'ascii'),
    type,
    Buffer.from(' ', 'ascii'),
    Buffer.from(String(body.byteLength), 'ascii'),
    Buffer.from(' ', 'ascii'),
    body,
  ]);
}

function clone(value: unknown): any {
  return JSON.parse(JSON.stringify(value));
}

function rejectsWith(value: unknown, pattern: RegExp, expectedType = IN_TOTO_PAYLOAD_TYPE): void {
  assert.throws(
    () => verifyEnvelope(value, keys.publicKey, expectedType),
    (err: unknown) => {
      assert.ok(err instanceof DsseVerificationError, `expected DsseVerificationError, got ${String(err)}`);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('PAE', () => {
  test("matches the DSSE spec's worked example byte for byte", () => {
    // From the DSSE protocol document: PAE("http://example.com/HelloWorld", "hello world").
    assert.deepEqual(
      pae('http://example.com/HelloWorld', Buffer.from('hello world')),
      Buffer.from('DSSEv1 29 http://example.com/HelloWorld 11 hello world', 'ascii'),
    );
  });

  test('the in-toto payload type is 28 bytes long', () => {
    assert.equal(IN_TOTO_PAYLOAD_TYPE, 'application/vnd.in-toto+json');
    assert.deepEqual(
      pae(IN_TOTO_PAYLOAD_TYPE, Buffer.from('hello world')),
      Buffer.from('DSSEv1 28 application/vnd.in-toto+json 11 hello world', 'ascii'),
    );
  });

  test('lengths are in bytes (UTF-8), not characters, and an empty body still has its separator', () => {
    // 'é' is 2 bytes and '✓' is 3 bytes in UTF-8.
    assert.deepEqual(pae('typé', Buffer.from('✓', 'utf8')), Buffer.concat([Buffer.from('DSSEv1 5 typé 3 ', 'utf8'), Buffer.from('✓', 'utf8')]));
    assert.deepEqual(pae('t', new Uint8Array(0)), Buffer.from('DSSEv1 1 t 0 ', 'ascii'));
    assert.deepEqual(pae('', Buffer.from('x')), Buffer.from('DSSEv1 0  1 x', 'ascii'));
  });

  test('binary bodies (NUL, high bytes, spaces, digits) are copied verbatim and agree with the hand-built PAE', () => {
    const body = Buffer.from([0x00, 0xff, 0x20, 0x31, 0x32, 0x0a, 0x80]);
    assert.deepEqual(pae(IN_TOTO_PAYLOAD_TYPE, body), paeByHand(IN_TOTO_PAYLOAD_TYPE, body));
    assert.deepEqual(pae(IN_TOTO_PAYLOAD_TYPE, STATEMENT), paeByHand(IN_TOTO_PAYLOAD_TYPE, STATEMENT));
  });
});

describe('signEnvelope', () => {
  test('makes { payload, payloadType, signatures: [{ keyid, sig }] } with standard base64', () => {
    const env = signEnvelope(STATEMENT, IN_TOTO_PAYLOAD_TYPE, keys.signingKey);
    assert.deepEqual(Object.keys(env), ['payload', 'payloadType', 'signatures']);
    assert.equal(env.payload, STATEMENT.toString('base64'));
    assert.equal(env.payloadType, IN_TOTO_PAYLOAD_TYPE);
    assert.equal(env.signatures.length, 1);
    assert.equal(env.signatures[0]!.keyid, keys.signingKey.kid);
    assert.match(env.signatures[0]!.sig, /^[A-Za-z0-9+/]{86}==$/);
  });

  test('its signature verifies with node:crypto alone over a hand-built PAE and the .pub.pem', async () => {
    const env = signEnvelope(STATEMENT, IN_TOTO_PAYLOAD_TYPE, keys.signingKey);
    const publicKey = createPublicKey(await readFile(keys.files.publicKeyPath, 'utf8'));
    const body = Buffer.from(env.payload, 'base64');
    const sig = Buffer.from(env.signatures[0]!.sig, 'base64');
    assert.equal(cryptoVerify(null, paeByHand(env.payloadType, body), publicKey, sig), true);
    // The signature is over the PAE, not over the raw payload or its base64.
    assert.equal(cryptoVerify(null, body, publicKey, sig), false);
    assert.equal(cryptoVerify(null, Buffer.from(env.payload), publicKey, sig), false);
    // And not over a PAE with another type.
    assert.equal(cryptoVerify(null, paeByHand('application/json', body), publicKey, sig), false);
    // Nor with another key.
    const otherPublic = createPublicKey(await readFile(other.files.publicKeyPath, 'utf8'));
    assert.equal(cryptoVerify(null, paeByHand(env.payloadType, body), otherPublic, sig), false);
  });
});

describe('verifyEnvelope', () => {
  let env: DsseEnvelope;
  before(() => {
    env = clone(signEnvelope(STATEMENT, IN_TOTO_PAYLOAD_TYPE, keys.signingKey));
  });

  test('returns the payload of an untouched envelope', () => {
    assert.deepEqual(verifyEnvelope(clone(env), keys.publicKey, IN_TOTO_PAYLOAD_TYPE), STATEMENT);
  });

  test('accepts a signature without keyid (keyid is an optional hint in DSSE)', () => {
    const copy = clone(env);
    delete copy.signatures[0].keyid;
    assert.deepEqual(verifyEnvelope(copy, keys.publicKey, IN_TOTO_PAYLOAD_TYPE), STATEMENT);
  });

  test('a tampered payload: any changed byte, or one byte more or less', () => {
    for (const index of [0, 1, Math.floor(STATEMENT.length / 2), STATEMENT.length - 1]) {
      const changed = Buffer.from(STATEMENT);
      changed[index]! ^= 0x01;
      rejectsWith({ ...clone(env), payload: changed.toString('base64') }, /signature 0: Ed25519 signature over the PAE does not verify with kid/);
    }
    rejectsWith({ ...clone(env), payload: Buffer.concat([STATEMENT, Buffer.from(' ')]).toString('base64') }, /does not verify/);
    rejectsWith({ ...clone(env), payload: STATEMENT.subarray(0, -1).toString('base64') }, /does not verify/);
  });

  test('a tampered payloadType, whether or not the verifier is asked for it', () => {
    rejectsWith({ ...clone(env), payloadType: 'application/vnd.in-toto+jsoN' }, /payloadType is "application\/vnd.in-toto\+jsoN", expected "application\/vnd.in-toto\+json"/);
    // The attacker also controls what the verifier expects: the PAE binds the type into the signature.
    rejectsWith({ ...clone(env), payloadType: 'application/json' }, /Ed25519 signature over the PAE does not verify/, 'application/json');
  });

  test('a tampered keyid: the signature is not attributed to our key', () => {
    const copy = clone(env);
    copy.signatures[0].keyid = other.publicKey.kid;
    rejectsWith(copy, new RegExp(`signature 0: keyid ${other.publicKey.kid} is not the given key ${keys.publicKey.kid}`));
    copy.signatures[0].keyid = keys.publicKey.kid.slice(0, -1) + (keys.publicKey.kid.endsWith('A') ? 'B' : 'A');
    rejectsWith(copy, /keyid .* is not the given key/);
    copy.signatures[0].keyid = 42;
    rejectsWith(copy, /signature 0: needs a string "sig"/);
  });

  test('a tampered sig: changed bytes, non-canonical base64, base64url, bad length', () => {
    const sig = Buffer.from(env.signatures[0]!.sig, 'base64');
    for (const index of [0, 31, 32, 63]) {
      const changed = Buffer.from(sig);
      changed[index]! ^= 0x80;
      const copy = clone(env);
      copy.signatures[0].sig = changed.toString('base64');
      rejectsWith(copy, /signature 0: Ed25519 signature over the PAE does not verify/);
    }
    // 64 bytes = 86 characters + '=='; the last character has 4 unused bits.
    const text: string = env.signatures[0]!.sig;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = alphabet.indexOf(text[85]!);
    const tweaked = text.slice(0, 85) + alphabet[last | 0x01] + '==';
    assert.deepEqual(Buffer.from(tweaked, 'base64'), sig, 'lenient decoding hides the change');
    const nonCanonical = clone(env);
    nonCanonical.signatures[0].sig = tweaked;
    rejectsWith(nonCanonical, /signature 0 is not canonical base64/);
    const unpadded = clone(env);
    unpadded.signatures[0].sig = text.replace(/=+$/, '');
    rejectsWith(unpadded, /signature 0 is not canonical base64/);
    const urlsafe = clone(env);
    urlsafe.signatures[0].sig = sig.toString('base64url');
    rejectsWith(urlsafe, /signature 0 is not (canonical )?base64/);
    const short = clone(env);
    short.signatures[0].sig = sig.subarray(0, 63).toString('base64');
    rejectsWith(short, /does not verify/);
    const empty = clone(env);
    empty.signatures[0].sig = '';
    rejectsWith(empty, /does not verify/);
  });

  test('a non-canonical payload encoding', () => {
    rejectsWith({ ...clone(env), payload: `${env.payload}\n` }, /payload is not base64/);
    rejectsWith({ ...clone(env), payload: STATEMENT.toString('base64url') }, /payload is not (canonical )?base64/);
  });

  test('wrong shapes', () => {
    rejectsWith(null, /not a JSON object/);
    rejectsWith([env], /not a JSON object/);
    rejectsWith({ payloadType: env.payloadType, signatures: env.signatures }, /payload and payloadType are required/);
    rejectsWith({ payload: env.payload, signatures: env.signatures }, /payload and payloadType are required/);
    rejectsWith({ payload: env.payload, payloadType: env.payloadType, signatures: [] }, /no signatures/);
    rejectsWith({ payload: env.payload, payloadType: env.payloadType }, /no signatures/);
    rejectsWith({ payload: env.payload, payloadType: env.payloadType, signatures: [null] }, /signature 0: needs a string "sig"/);
    rejectsWith({ payload: env.payload, payloadType: env.payloadType, signatures: ['sig'] }, /signature 0: needs a string "sig"/);
  });

  test('another key: its signature is listed as not ours; with two signatures ours still verifies', () => {
    const theirs = clone(signEnvelope(STATEMENT, IN_TOTO_PAYLOAD_TYPE, other.signingKey));
    rejectsWith(theirs, /keyid .* is not the given key/);
    const both = { ...clone(env), signatures: [theirs.signatures[0], clone(env).signatures[0]] };
    assert.deepEqual(verifyEnvelope(both, keys.publicKey, IN_TOTO_PAYLOAD_TYPE), STATEMENT);
    // Their signature with the keyid removed is tried against our key and fails on the maths.
    const anonymous = clone(theirs);
    delete anonymous.signatures[0].keyid;
    rejectsWith(anonymous, /signature 0: Ed25519 signature over the PAE does not verify/);
  });

  test(
    'unknown members (e.g. a renamed "keyid") are rejected, as verifyGeneralJws does',
    () => {
      const renamed = clone(env);
      renamed.signatures[0].keyie = renamed.signatures[0].keyid;
      delete renamed.signatures[0].keyid;
      rejectsWith(renamed, /keyie/);
      rejectsWith({ ...clone(env), extra: 1 }, /extra/);
    },
  );
});
