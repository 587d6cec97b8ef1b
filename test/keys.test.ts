// Key files: interop with openssl and jose, and the typed errors callers match on.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, verify as cryptoVerify } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';
import {
  generateKeyFiles,
  jwkThumbprint,
  loadPublicKey,
  loadSigningKey,
  parsePublicKey,
  passphraseFromEnvironment,
  type GeneratedKeyFiles,
} from '../src/crypto/keys.js';
import { InvalidKeyError, KeyNotFoundError, PassphraseMissingError, WrongPassphraseError } from '../src/errors/index.js';
import { run, TempDirs, TEST_PASSPHRASE } from './helpers/fixtures.js';

const temp = new TempDirs();
after(() => temp.cleanup());

function openssl(args: readonly string[]) {
  return run('openssl', args);
}

describe('generateKeyFiles', () => {
  let dir: string;
  let files: GeneratedKeyFiles;
  before(async () => {
    dir = await temp.make('modelship-keys-');
    files = await generateKeyFiles(dir, 'release', TEST_PASSPHRASE);
  });

  test('writes <name>.key.pem, <name>.pub.pem and <name>.pub.jwk.json, the private key readable by its owner only', async () => {
    assert.equal(files.privateKeyPath, join(dir, 'release.key.pem'));
    assert.equal(files.publicKeyPath, join(dir, 'release.pub.pem'));
    assert.equal(files.publicJwkPath, join(dir, 'release.pub.jwk.json'));
    assert.equal((await stat(files.privateKeyPath)).mode & 0o777, 0o600);
    const pem = await readFile(files.privateKeyPath, 'utf8');
    assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END ENCRYPTED PRIVATE KEY-----\n$/);
  });

  test('the private key is PKCS#8 encrypted with AES-256-CBC under PBES2, PBKDF2-HMAC-SHA256 at 600k iterations (openssl asn1parse)', () => {
    const parsed = openssl(['asn1parse', '-in', files.privateKeyPath]);
    assert.equal(parsed.status, 0, parsed.stderr);
    assert.match(parsed.stdout, /:PBES2\b/);
    assert.match(parsed.stdout, /:PBKDF2\b/);
    assert.match(parsed.stdout, /:hmacWithSHA256\b/);
    assert.match(parsed.stdout, /:aes-256-cbc\b/);
    // node:crypto's own export would say 0800 (2048 iterations): too cheap to guess passphrases against.
    const iterations = /prim: INTEGER\s+:([0-9A-F]+)/.exec(parsed.stdout)?.[1];
    assert.equal(parseInt(iterations ?? '0', 16), 600_000);
  });

  test('openssl decrypts the key with the passphrase and refuses a wrong one', () => {
    const ok = openssl(['pkey', '-in', files.privateKeyPath, '-passin', `pass:${TEST_PASSPHRASE}`, '-noout']);
    assert.equal(ok.status, 0, `openssl pkey failed with the right passphrase:\n${ok.stderr}`);
    const text = openssl(['pkey', '-in', files.privateKeyPath, '-passin', `pass:${TEST_PASSPHRASE}`, '-noout', '-text']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /ED25519 Private-Key/);
    const wrong = openssl(['pkey', '-in', files.privateKeyPath, '-passin', 'pass:wrong passphrase', '-noout']);
    assert.notEqual(wrong.status, 0, 'openssl pkey accepted a wrong passphrase');
    const empty = openssl(['pkey', '-in', files.privateKeyPath, '-passin', 'pass:', '-noout']);
    assert.notEqual(empty.status, 0, 'openssl pkey accepted an empty passphrase');
  });

  test("openssl's public key derived from the private key is byte-for-byte our .pub.pem", async () => {
    const derived = openssl(['pkey', '-in', files.privateKeyPath, '-passin', `pass:${TEST_PASSPHRASE}`, '-pubout']);
    assert.equal(derived.status, 0, derived.stderr);
    assert.equal(derived.stdout, await readFile(files.publicKeyPath, 'utf8'));
    // And openssl reads our .pub.pem as an Ed25519 SPKI key.
    const pub = openssl(['pkey', '-pubin', '-in', files.publicKeyPath, '-noout', '-text']);
    assert.equal(pub.status, 0, pub.stderr);
    assert.match(pub.stdout, /ED25519 Public-Key/);
  });

  test('the kid is the RFC 7638 thumbprint jose computes, in the return value, the JWK file and both loaders', async () => {
    const jwkFile = JSON.parse(await readFile(files.publicJwkPath, 'utf8')) as Record<string, string>;
    assert.deepEqual(Object.keys(jwkFile).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    assert.equal(jwkFile.kty, 'OKP');
    assert.equal(jwkFile.crv, 'Ed25519');
    assert.equal(jwkFile.alg, 'EdDSA');
    assert.equal(jwkFile.use, 'sig');
    const expected = await jose.calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwkFile.x! }, 'sha256');
    assert.equal(files.kid, expected);
    assert.equal(jwkFile.kid, expected);
    // jose's thumbprint of the full JWK file ignores the non-required members, and so must ours.
    assert.equal(await jose.calculateJwkThumbprint(jwkFile as jose.JWK), expected);

    const signing = await loadSigningKey(files.privateKeyPath, TEST_PASSPHRASE);
    const fromPem = await loadPublicKey(files.publicKeyPath);
    const fromJwk = await loadPublicKey(files.publicJwkPath);
    assert.equal(signing.kid, expected);
    assert.equal(fromPem.kid, expected);
    assert.equal(fromJwk.kid, expected);
    assert.equal(jwkThumbprint(fromPem.jwk), expected);
    assert.deepEqual(fromPem.jwk, { kty: 'OKP', crv: 'Ed25519', x: jwkFile.x });
    assert.deepEqual(Buffer.from(fromJwk.raw), Buffer.from(fromPem.raw));
  });

  test("the JWK file's x is node:crypto's own JWK export of the .pub.pem", async () => {
    const jwkFile = JSON.parse(await readFile(files.publicJwkPath, 'utf8')) as Record<string, string>;
    const nodeJwk = createPublicKey(await readFile(files.publicKeyPath, 'utf8')).export({ format: 'jwk' });
    assert.equal(nodeJwk.x, jwkFile.x);
  });

  test('a signature by the loaded key verifies with node:crypto and openssl against the .pub.pem', async () => {
    const key = await loadSigningKey(files.privateKeyPath, TEST_PASSPHRASE);
    const message = Buffer.from('modelship key test message\n');
    const signature = Buffer.from(key.sign(message));
    assert.equal(signature.length, 64);
    const pubPem = await readFile(files.publicKeyPath, 'utf8');
    assert.equal(cryptoVerify(null, message, createPublicKey(pubPem), signature), true);
    assert.equal(cryptoVerify(null, Buffer.from('another message'), createPublicKey(pubPem), signature), false);

    // openssl pkeyutl -verify -rawin is Ed25519 (pure) verification of the whole message.
    const msgPath = join(dir, 'message.bin');
    const sigPath = join(dir, 'message.sig');
    await writeFile(msgPath, message);
    await writeFile(sigPath, signature);
    const ok = openssl(['pkeyutl', '-verify', '-pubin', '-inkey', files.publicKeyPath, '-rawin', '-in', msgPath, '-sigfile', sigPath]);
    assert.equal(ok.status, 0, `openssl rejected our signature:\n${ok.stdout}${ok.stderr}`);
    const flipped = Buffer.from(signature);
    flipped[10]! ^= 0x01;
    await writeFile(sigPath, flipped);
    const bad = openssl(['pkeyutl', '-verify', '-pubin', '-inkey', files.publicKeyPath, '-rawin', '-in', msgPath, '-sigfile', sigPath]);
    assert.notEqual(bad.status, 0, 'openssl accepted a changed signature');
  });

  test('a non-ASCII passphrase means the same bytes to us and to openssl', async () => {
    const passphrase = 'pässwörd-ü€-日本';
    const generated = await generateKeyFiles(dir, 'unicode', passphrase);
    const ok = openssl(['pkey', '-in', generated.privateKeyPath, '-passin', `pass:${passphrase}`, '-noout']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal((await loadSigningKey(generated.privateKeyPath, passphrase)).kid, generated.kid);
  });

  test('refuses to overwrite any existing key file, and writes nothing then', async () => {
    const before = await Promise.all([files.privateKeyPath, files.publicKeyPath, files.publicJwkPath].map((p) => readFile(p, 'utf8')));
    await assert.rejects(generateKeyFiles(dir, 'release', TEST_PASSPHRASE), (err: unknown) => {
      assert.ok(err instanceof InvalidKeyError, `expected InvalidKeyError, got ${String(err)}`);
      assert.match(err.message, /exists already; refusing to overwrite/);
      assert.ok(err.message.includes(files.privateKeyPath), err.message);
      return true;
    });
    const afterwards = await Promise.all([files.privateKeyPath, files.publicKeyPath, files.publicJwkPath].map((p) => readFile(p, 'utf8')));
    assert.deepEqual(afterwards, before);

    // Only the JWK file is in the way: still refused, and no private key appears.
    await writeFile(join(dir, 'partial.pub.jwk.json'), '{}\n');
    await assert.rejects(generateKeyFiles(dir, 'partial', TEST_PASSPHRASE), InvalidKeyError);
    await assert.rejects(stat(join(dir, 'partial.key.pem')), { code: 'ENOENT' });
    await assert.rejects(stat(join(dir, 'partial.pub.pem')), { code: 'ENOENT' });
  });

  test('refuses a passphrase shorter than 8 characters', async () => {
    await assert.rejects(generateKeyFiles(dir, 'short', '1234567'), (err: unknown) => {
      assert.ok(err instanceof InvalidKeyError);
      assert.match(err.message, /at least 8 characters/);
      return true;
    });
    await assert.rejects(stat(join(dir, 'short.key.pem')), { code: 'ENOENT' });
  });

  test('two generated keys differ', async () => {
    const other = await generateKeyFiles(dir, 'other', TEST_PASSPHRASE);
    assert.notEqual(other.kid, files.kid);
  });
});

describe('loadSigningKey errors', () => {
  let dir: string;
  let files: GeneratedKeyFiles;
  before(async () => {
    dir = await temp.make('modelship-keys-errors-');
    files = await generateKeyFiles(dir, 'release', TEST_PASSPHRASE);
  });

  test('a wrong passphrase is a WrongPassphraseError naming the file', async () => {
    await assert.rejects(loadSigningKey(files.privateKeyPath, 'not the passphrase'), (err: unknown) => {
      assert.ok(err instanceof WrongPassphraseError, `expected WrongPassphraseError, got ${String(err)}`);
      assert.equal(err.type, 'WrongPassphraseError');
      assert.equal(err.retryable, false);
      assert.ok(err.message.includes(files.privateKeyPath), err.message);
      assert.match(err.message, /wrong passphrase/);
      return true;
    });
  });

  test('a key this process decrypted is reused only for the same file bytes and passphrase', async () => {
    const first = await loadSigningKey(files.privateKeyPath, TEST_PASSPHRASE);
    assert.equal(await loadSigningKey(files.privateKeyPath, TEST_PASSPHRASE), first, 'the same file and passphrase: decrypted once');
    await assert.rejects(loadSigningKey(files.privateKeyPath, `${TEST_PASSPHRASE}!`), WrongPassphraseError);
    // Another key written at the same path is decrypted (and checked) again.
    const otherDir = await temp.make('modelship-keys-replaced-');
    const other = await generateKeyFiles(otherDir, 'release', TEST_PASSPHRASE);
    const original = await readFile(files.privateKeyPath);
    await writeFile(files.privateKeyPath, await readFile(other.privateKeyPath));
    try {
      const replaced = await loadSigningKey(files.privateKeyPath, TEST_PASSPHRASE);
      assert.equal(replaced.kid, other.kid);
      assert.notEqual(replaced.kid, first.kid);
    } finally {
      await writeFile(files.privateKeyPath, original);
    }
  });

  test('an empty passphrase is a WrongPassphraseError too', async () => {
    await assert.rejects(loadSigningKey(files.privateKeyPath, ''), WrongPassphraseError);
  });

  test('a missing key file is a KeyNotFoundError naming the file', async () => {
    const missing = join(dir, 'nope.key.pem');
    await assert.rejects(loadSigningKey(missing, TEST_PASSPHRASE), (err: unknown) => {
      assert.ok(err instanceof KeyNotFoundError, `expected KeyNotFoundError, got ${String(err)}`);
      assert.equal(err.type, 'KeyNotFoundError');
      assert.ok(err.message.includes(missing), err.message);
      return true;
    });
  });

  test('an unencrypted PKCS#8 Ed25519 key is an InvalidKeyError (keys stay encrypted at rest)', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const path = join(dir, 'plain.key.pem');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----/);
    await writeFile(path, pem, { mode: 0o600 });
    await assert.rejects(loadSigningKey(path, TEST_PASSPHRASE), (err: unknown) => {
      assert.ok(err instanceof InvalidKeyError, `expected InvalidKeyError, got ${String(err)}`);
      assert.ok(err.message.includes(path), err.message);
      assert.match(err.message, /not an encrypted PKCS#8/);
      return true;
    });
  });

  test('an encrypted key of another type (P-256) is an InvalidKeyError naming the type', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const path = join(dir, 'ec.key.pem');
    await writeFile(path, privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: TEST_PASSPHRASE }));
    await assert.rejects(loadSigningKey(path, TEST_PASSPHRASE), (err: unknown) => {
      assert.ok(err instanceof InvalidKeyError, `expected InvalidKeyError, got ${String(err)}`);
      assert.match(err.message, /holds a ec key; modelship signs with Ed25519/);
      return true;
    });
  });

  test('a damaged encrypted key file fails as WrongPassphraseError, not a crash', async () => {
    const pem = await readFile(files.privateKeyPath, 'utf8');
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
    // Flip a byte of the second-to-last AES-CBC block: in CBC that flips the same byte of the
    // last plaintext block, which is all PKCS#7 padding, so decryption must fail every time.
    der[der.length - 32 + 4]! ^= 0x01;
    const body = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
    const path = join(dir, 'damaged.key.pem');
    await writeFile(path, `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${body}\n-----END ENCRYPTED PRIVATE KEY-----\n`);
    await assert.rejects(loadSigningKey(path, TEST_PASSPHRASE), (err: unknown) => {
      assert.ok(err instanceof WrongPassphraseError, `expected WrongPassphraseError, got ${String(err)}`);
      assert.ok(err.message.includes(path), err.message);
      return true;
    });
    const check = openssl(['pkey', '-in', path, '-passin', `pass:${TEST_PASSPHRASE}`, '-noout']);
    assert.notEqual(check.status, 0, 'openssl read the damaged key');
  });

  test('loadPublicKey: missing file is KeyNotFoundError; a non-Ed25519 key or bad JWK is InvalidKeyError', async () => {
    await assert.rejects(loadPublicKey(join(dir, 'missing.pub.pem')), KeyNotFoundError);
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecPath = join(dir, 'ec.pub.pem');
    await writeFile(ecPath, publicKey.export({ format: 'pem', type: 'spki' }));
    await assert.rejects(loadPublicKey(ecPath), (err: unknown) => err instanceof InvalidKeyError && /not Ed25519/.test(err.message));
    assert.throws(() => parsePublicKey('{"kty":"OKP","crv":"X25519","x":"AAAA"}'), InvalidKeyError);
    assert.throws(() => parsePublicKey('{"kty":"OKP","crv":"Ed25519","x":"AAAA"}'), /32 bytes, got 3/);
    assert.throws(() => parsePublicKey('{not json'), InvalidKeyError);
    assert.throws(() => parsePublicKey('-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n'), InvalidKeyError);
  });

  test('the decrypted key equals what openssl decrypts (same seed, so same public key)', async () => {
    const key = await loadSigningKey(files.privateKeyPath, TEST_PASSPHRASE);
    const nodeKey = createPrivateKey({ key: await readFile(files.privateKeyPath, 'utf8'), passphrase: TEST_PASSPHRASE });
    const x = createPublicKey(nodeKey).export({ format: 'jwk' }).x;
    assert.equal(key.publicKey.jwk.x, x);
  });
});

describe('passphraseFromEnvironment', () => {
  let dir: string;
  before(async () => {
    dir = await temp.make('modelship-passphrase-');
  });

  test('reads MODELSHIP_KEY_PASSPHRASE', async () => {
    assert.equal(await passphraseFromEnvironment({ MODELSHIP_KEY_PASSPHRASE: 'from the env var' }), 'from the env var');
  });

  test('the env var wins over the file', async () => {
    const file = join(dir, 'both.txt');
    await writeFile(file, 'from the file\n');
    assert.equal(
      await passphraseFromEnvironment({ MODELSHIP_KEY_PASSPHRASE: 'from the env var', MODELSHIP_KEY_PASSPHRASE_FILE: file }),
      'from the env var',
    );
  });

  test('reads MODELSHIP_KEY_PASSPHRASE_FILE, dropping exactly one trailing newline', async () => {
    const cases: Array<[string, string]> = [
      ['secret passphrase\n', 'secret passphrase'],
      ['secret passphrase\r\n', 'secret passphrase'],
      ['secret passphrase', 'secret passphrase'],
      ['secret passphrase\n\n', 'secret passphrase\n'],
      ['  spaced out  \n', '  spaced out  '],
    ];
    for (const [i, [contents, expected]] of cases.entries()) {
      const file = join(dir, `pass-${i}.txt`);
      await writeFile(file, contents);
      assert.equal(await passphraseFromEnvironment({ MODELSHIP_KEY_PASSPHRASE_FILE: file }), expected, JSON.stringify(contents));
    }
  });

  test('a passphrase read from a file decrypts a key made with it', async () => {
    const keyDir = await temp.make('modelship-passphrase-key-');
    const files = await generateKeyFiles(keyDir, 'k', TEST_PASSPHRASE);
    const file = join(dir, 'key-pass.txt');
    await writeFile(file, `${TEST_PASSPHRASE}\n`);
    const key = await loadSigningKey(files.privateKeyPath, await passphraseFromEnvironment({ MODELSHIP_KEY_PASSPHRASE_FILE: file }));
    assert.equal(key.kid, files.kid);
  });

  test('neither set (or both empty) is a PassphraseMissingError naming both variables', async () => {
    for (const env of [{}, { MODELSHIP_KEY_PASSPHRASE: '', MODELSHIP_KEY_PASSPHRASE_FILE: '' }]) {
      await assert.rejects(passphraseFromEnvironment(env), (err: unknown) => {
        assert.ok(err instanceof PassphraseMissingError, `expected PassphraseMissingError, got ${String(err)}`);
        assert.equal(err.type, 'PassphraseMissingError');
        assert.match(err.message, /MODELSHIP_KEY_PASSPHRASE\b/);
        assert.match(err.message, /MODELSHIP_KEY_PASSPHRASE_FILE/);
        return true;
      });
    }
  });

  test('an unreadable passphrase file is a PassphraseMissingError naming the file', async () => {
    const file = join(dir, 'does-not-exist.txt');
    await assert.rejects(passphraseFromEnvironment({ MODELSHIP_KEY_PASSPHRASE_FILE: file }), (err: unknown) => {
      assert.ok(err instanceof PassphraseMissingError);
      assert.ok(err.message.includes(file), err.message);
      return true;
    });
  });

  test('defaults to process.env', async () => {
    const saved = process.env.MODELSHIP_KEY_PASSPHRASE;
    process.env.MODELSHIP_KEY_PASSPHRASE = 'from process.env';
    try {
      assert.equal(await passphraseFromEnvironment(), 'from process.env');
    } finally {
      if (saved === undefined) delete process.env.MODELSHIP_KEY_PASSPHRASE;
      else process.env.MODELSHIP_KEY_PASSPHRASE = saved;
    }
  });
});
