import { pathExists } from '../path-exists.js';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { decodeBase64UrlStrict, encodeBase64Url } from './base64.js';
import { encryptPkcs8 } from './encrypted-pkcs8.js';
import { ED25519_KEY_BYTES, publicKeyFromSeed, randomSeed, signEd25519 } from './ed25519.js';
import {
  InvalidKeyError,
  KeyNotFoundError,
  PassphraseMissingError,
  WrongPassphraseError,
  errorMessage,
} from '../errors/index.js';

/** RFC 8410 PKCS#8 prefix for an Ed25519 private key: the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** RFC 8410 SubjectPublicKeyInfo prefix for an Ed25519 public key. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface Ed25519Jwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
}

export interface PublicKey {
  readonly kid: string;
  readonly raw: Uint8Array;
  readonly jwk: Ed25519Jwk;
}

/** A loaded private key. The seed stays inside the closure; only signatures come out. */
export interface SigningKey {
  readonly kid: string;
  readonly publicKey: PublicKey;
  sign(message: Uint8Array): Uint8Array;
}

export function jwkFromRaw(raw: Uint8Array): Ed25519Jwk {
  return { kty: 'OKP', crv: 'Ed25519', x: encodeBase64Url(raw) };
}

/** RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order, no spaces. */
export function jwkThumbprint(jwk: Ed25519Jwk): string {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}"}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

export function publicKeyFromRaw(raw: Uint8Array): PublicKey {
  if (raw.length !== ED25519_KEY_BYTES) throw new InvalidKeyError(`an Ed25519 public key has 32 bytes, got ${raw.length}`);
  const jwk = jwkFromRaw(raw);
  return { kid: jwkThumbprint(jwk), raw, jwk };
}

function spkiPemFromRaw(raw: Uint8Array): string {
  const der = Buffer.concat([SPKI_ED25519_PREFIX, raw]);
  return createPublicKey({ key: der, format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }).toString();
}

export interface GeneratedKeyFiles {
  readonly kid: string;
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
  readonly publicJwkPath: string;
}

/**
 * Writes a new Ed25519 key pair: `<name>.key.pem` (PKCS#8 encrypted with PBES2: PBKDF2-HMAC-SHA256,
 * 600k iterations, AES-256-CBC; `openssl pkey` reads it), `<name>.pub.pem` (SPKI) and `<name>.pub.jwk.json`.
 * Refuses to overwrite an existing key.
 */
export async function generateKeyFiles(dir: string, name: string, passphrase: string): Promise<GeneratedKeyFiles> {
  if (passphrase.length < 8) throw new InvalidKeyError('the key passphrase must have at least 8 characters');
  const seed = randomSeed();
  const publicKey = publicKeyFromRaw(publicKeyFromSeed(seed));
  const privateKeyInfo = Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
  seed.fill(0);
  const privatePem = encryptPkcs8(privateKeyInfo, passphrase);
  privateKeyInfo.fill(0);

  const paths = {
    privateKeyPath: join(dir, `${name}.key.pem`),
    publicKeyPath: join(dir, `${name}.pub.pem`),
    publicJwkPath: join(dir, `${name}.pub.jwk.json`),
  };
  await mkdir(dir, { recursive: true });
  for (const path of Object.values(paths)) {
    if (await pathExists(path)) throw new InvalidKeyError(`${path} exists already; refusing to overwrite a key`);
  }
  await writeFile(paths.privateKeyPath, privatePem, { mode: 0o600, flag: 'wx' });
  await writeFile(paths.publicKeyPath, spkiPemFromRaw(publicKey.raw), { flag: 'wx' });
  await writeFile(paths.publicJwkPath, JSON.stringify({ ...publicKey.jwk, kid: publicKey.kid, alg: 'EdDSA', use: 'sig' }, null, 2) + '\n', { flag: 'wx' });
  return { kid: publicKey.kid, ...paths };
}


/**
 * Where the worker finds the key passphrase: MODELSHIP_KEY_PASSPHRASE, or the file named by
 * MODELSHIP_KEY_PASSPHRASE_FILE (one trailing newline ignored). Never a workflow argument.
 */
export async function passphraseFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.MODELSHIP_KEY_PASSPHRASE) return env.MODELSHIP_KEY_PASSPHRASE;
  const file = env.MODELSHIP_KEY_PASSPHRASE_FILE;
  if (file) {
    try {
      return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw new PassphraseMissingError(`cannot read the key passphrase file ${file}: ${errorMessage(err)}`);
    }
  }
  throw new PassphraseMissingError(
    'no key passphrase: set MODELSHIP_KEY_PASSPHRASE or MODELSHIP_KEY_PASSPHRASE_FILE in the environment of the worker (or CLI) that signs',
  );
}

export async function loadSigningKey(path: string, passphrase: string): Promise<SigningKey> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw new KeyNotFoundError(`cannot read the signing key ${path}: ${errorMessage(err)}`);
  }
  // Decrypting costs ~0.3 s of CPU (PBKDF2, 600k iterations) and a release signs three times:
  // keep what this process already decrypted, keyed by the file's bytes and the passphrase
  // (hashed), so a changed file or another passphrase decrypts again and is checked again.
  const cacheKey = createHash('sha256').update(pem).update('\0').update(passphrase).digest('hex');
  const cached = decryptedKeys.get(cacheKey);
  if (cached) return cached;
  const key = decryptSigningKey(path, pem, passphrase);
  if (decryptedKeys.size >= DECRYPTED_KEYS_MAX) decryptedKeys.delete(decryptedKeys.keys().next().value!);
  decryptedKeys.set(cacheKey, key);
  return key;
}

/** Keys decrypted by this process (at most a few: the signing keys of a rotation). */
const decryptedKeys = new Map<string, SigningKey>();
const DECRYPTED_KEYS_MAX = 16;

function decryptSigningKey(path: string, pem: string, passphrase: string): SigningKey {
  if (!pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    throw new InvalidKeyError(`${path} is not an encrypted PKCS#8 PEM key; modelship keeps private keys encrypted at rest`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch (err) {
    throw new WrongPassphraseError(`cannot decrypt the signing key ${path}: wrong passphrase or damaged key file (${errorMessage(err)})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new InvalidKeyError(`${path} holds a ${key.asymmetricKeyType} key; modelship signs with Ed25519`);
  }
  const der = key.export({ format: 'der', type: 'pkcs8' });
  const seed = Uint8Array.from(der.subarray(der.length - ED25519_KEY_BYTES));
  der.fill(0);
  const publicKey = publicKeyFromRaw(publicKeyFromSeed(seed));
  return { kid: publicKey.kid, publicKey, sign: (message) => signEd25519(message, seed) };
}

/** A public key from an SPKI PEM file or an Ed25519 JWK JSON file. */
export async function loadPublicKey(path: string): Promise<PublicKey> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new KeyNotFoundError(`cannot read the public key ${path}: ${errorMessage(err)}`);
  }
  return parsePublicKey(text, path);
}

export function parsePublicKey(text: string, where = 'public key'): PublicKey {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let jwk: Partial<Ed25519Jwk>;
    try {
      jwk = JSON.parse(trimmed) as Partial<Ed25519Jwk>;
    } catch (err) {
      throw new InvalidKeyError(`${where} is not valid JSON: ${errorMessage(err)}`);
    }
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
      throw new InvalidKeyError(`${where} is not an Ed25519 JWK (kty OKP, crv Ed25519)`);
    }
    return publicKeyFromRaw(decodeBase64UrlStrict(jwk.x, `${where} x`));
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: trimmed, format: 'pem' });
  } catch (err) {
    throw new InvalidKeyError(`${where} is not a PEM public key: ${errorMessage(err)}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new InvalidKeyError(`${where} is a ${key.asymmetricKeyType} key, not Ed25519`);
  const der = key.export({ format: 'der', type: 'spki' });
  return publicKeyFromRaw(Uint8Array.from(der.subarray(der.length - ED25519_KEY_BYTES)));
}
