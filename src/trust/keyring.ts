import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import { loadPublicKey, parsePublicKey, publicKeyFromRaw, type Ed25519Jwk, type PublicKey } from '../crypto/keys.js';
import { KeyringError, errorMessage } from '../errors/index.js';

/**
 * A keyring: the public keys a verifier knows, each with the time window it may be used in and,
 * once revoked, when and why. It says nothing about which models a key may sign for; that is
 * the trust policy's job (policy.ts).
 *
 * File format (`keyring.json`, usually in the keys folder; relative paths are relative to it):
 *
 *     {
 *       "version": 1,
 *       "keys": [
 *         {
 *           "kid": "<RFC 7638 thumbprint of the key>",
 *           "publicKeyPath": "release.pub.pem",          // SPKI PEM or JWK file; or, instead:
 *           "jwk": { "kty": "OKP", "crv": "Ed25519", "x": "..." },
 *           "privateKeyPath": "release.key.pem",         // optional: only on a host that signs
 *           "notBefore": "2025-01-01T00:00:00.000Z",
 *           "notAfter": "2026-01-01T00:00:00.000Z",      // optional, exclusive
 *           "revoked": { "at": "2025-06-01T00:00:00.000Z", "reason": "laptop stolen" },  // optional
 *           "labels": { "owner": "ml-platform" }          // optional, free-form strings
 *         }
 *       ]
 *     }
 *
 * Every kid is checked against its key on load: a keyring whose kid is not the key's thumbprint
 * is refused, so a kid in a JWS header can only ever pick the key it names.
 */

export const KEYRING_VERSION = 1;
export const DEFAULT_KEYRING_FILE = 'keyring.json';

export interface KeyRevocation {
  readonly at: Date;
  readonly reason: string;
}

export interface KeyringEntry {
  readonly kid: string;
  readonly publicKey: PublicKey;
  /** The public key file as written in the keyring (relative to the keyring's folder), or undefined for an inline JWK. */
  readonly publicKeyPath: string | undefined;
  /** The encrypted private key as written in the keyring, on a host that signs. Never read on load. */
  readonly privateKeyPath: string | undefined;
  readonly notBefore: Date;
  /** Exclusive: the key is expired from this instant on. */
  readonly notAfter: Date | undefined;
  readonly revoked: KeyRevocation | undefined;
  readonly labels: Readonly<Record<string, string>> | undefined;
}

export type KeyStatus =
  | { readonly state: 'valid' }
  | { readonly state: 'not-yet-valid'; readonly notBefore: Date }
  | { readonly state: 'expired'; readonly notAfter: Date }
  | { readonly state: 'revoked'; readonly at: Date; readonly reason: string };

/** The status of a key at a time. Revocation wins from `revoked.at` on; the window is [notBefore, notAfter). */
export function keyStatus(entry: Pick<KeyringEntry, 'notBefore' | 'notAfter' | 'revoked'>, at: Date): KeyStatus {
  // An invalid date compares false with everything and would make every key valid.
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new KeyringError(`cannot check a key's status at ${String(at)}: not a valid date`);
  const t = at.getTime();
  if (entry.revoked && t >= entry.revoked.at.getTime()) return { state: 'revoked', at: entry.revoked.at, reason: entry.revoked.reason };
  if (t < entry.notBefore.getTime()) return { state: 'not-yet-valid', notBefore: entry.notBefore };
  if (entry.notAfter && t >= entry.notAfter.getTime()) return { state: 'expired', notAfter: entry.notAfter };
  return { state: 'valid' };
}

export function describeKeyStatus(status: KeyStatus): string {
  switch (status.state) {
    case 'valid':
      return 'valid';
    case 'not-yet-valid':
      return `not valid before ${status.notBefore.toISOString()}`;
    case 'expired':
      return `expired at ${status.notAfter.toISOString()}`;
    case 'revoked':
      return `revoked at ${status.at.toISOString()}: ${status.reason}`;
  }
}

export interface AddKeyInput {
  /** A public key file (SPKI PEM or JWK JSON); relative paths are relative to the keyring's folder. */
  readonly publicKeyPath?: string;
  /** Or the public key inline. Exactly one of publicKeyPath and jwk. */
  readonly jwk?: Ed25519Jwk;
  /** If given, must be the key's thumbprint (a check that the right file was picked). */
  readonly kid?: string;
  readonly privateKeyPath?: string;
  /** Default: now. */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly labels?: Readonly<Record<string, string>>;
}

/** What `keyring.json` holds, as written by `saveKeyring`. */
export interface KeyringFile {
  readonly version: typeof KEYRING_VERSION;
  readonly keys: ReadonlyArray<{
    readonly kid: string;
    readonly publicKeyPath?: string;
    readonly jwk?: Ed25519Jwk;
    readonly privateKeyPath?: string;
    readonly notBefore: string;
    readonly notAfter?: string;
    readonly revoked?: { readonly at: string; readonly reason: string };
    readonly labels?: Readonly<Record<string, string>>;
  }>;
}

export class Keyring {
  /** The file this keyring was loaded from and is saved to by default (undefined for one built in memory). */
  readonly path: string | undefined;
  /** Where relative key paths are resolved. */
  readonly baseDir: string;
  private readonly byKid = new Map<string, KeyringEntry>();

  /** An in-memory keyring; `loadKeyring` reads one from a file. Each entry's kid must be its key's thumbprint. */
  constructor(options: { path?: string; baseDir?: string; entries?: Iterable<KeyringEntry> } = {}) {
    this.path = options.path === undefined ? undefined : resolve(options.path);
    this.baseDir = resolve(options.baseDir ?? (this.path ? dirname(this.path) : '.'));
    for (const entry of options.entries ?? []) {
      const thumbprint = publicKeyFromRaw(entry.publicKey.raw).kid;
      if (entry.kid !== thumbprint) throw new KeyringError(`kid ${entry.kid} does not match its key: the RFC 7638 thumbprint is ${thumbprint}`);
      if (this.byKid.has(entry.kid)) throw new KeyringError(`kid ${entry.kid} is listed twice`);
      checkDate(entry.notBefore, `kid ${entry.kid} notBefore`);
      if (entry.notAfter !== undefined) checkDate(entry.notAfter, `kid ${entry.kid} notAfter`);
      if (entry.revoked !== undefined) checkDate(entry.revoked.at, `kid ${entry.kid} revoked.at`);
      this.byKid.set(entry.kid, { ...entry, publicKey: publicKeyFromRaw(entry.publicKey.raw) });
    }
  }

  get entries(): readonly KeyringEntry[] {
    return [...this.byKid.values()];
  }

  get size(): number {
    return this.byKid.size;
  }

  get(kid: string): KeyringEntry | undefined {
    return this.byKid.get(kid);
  }

  /** The key's status at `at`, or undefined for a kid the keyring does not know. */
  status(kid: string, at: Date): KeyStatus | undefined {
    const entry = this.byKid.get(kid);
    return entry ? keyStatus(entry, at) : undefined;
  }

  /** Keys valid at `at` that this host can sign with (they have a privateKeyPath): during a rotation, old and new. */
  activeSigners(at: Date): KeyringEntry[] {
    return this.entries.filter((e) => e.privateKeyPath !== undefined && keyStatus(e, at).state === 'valid');
  }

  resolvePath(path: string): string {
    return isAbsolute(path) ? path : resolve(this.baseDir, path);
  }

  /** Adds a key; its kid is computed from the key (and checked against `input.kid` if given). */
  async add(input: AddKeyInput): Promise<KeyringEntry> {
    if ((input.publicKeyPath === undefined) === (input.jwk === undefined)) throw new KeyringError('add a key with exactly one of publicKeyPath and jwk');
    let publicKey: PublicKey;
    try {
      publicKey = input.publicKeyPath !== undefined ? await loadPublicKey(this.resolvePath(input.publicKeyPath)) : parsePublicKey(JSON.stringify(input.jwk), 'jwk');
    } catch (err) {
      throw new KeyringError(`cannot add the key: ${errorMessage(err)}`, { cause: err });
    }
    if (input.kid !== undefined && input.kid !== publicKey.kid) {
      throw new KeyringError(`cannot add the key: kid ${input.kid} is not its RFC 7638 thumbprint ${publicKey.kid}`);
    }
    const existing = this.byKid.get(publicKey.kid);
    if (existing) throw new KeyringError(`kid ${publicKey.kid} is in the keyring already${existing.revoked ? ' (revoked: a revoked key cannot be added again)' : ''}`);
    const notBefore = input.notBefore ?? new Date();
    checkDate(notBefore, 'notBefore');
    if (input.notAfter !== undefined) {
      checkDate(input.notAfter, 'notAfter');
      if (input.notAfter.getTime() <= notBefore.getTime()) throw new KeyringError(`notAfter ${input.notAfter.toISOString()} must be after notBefore ${notBefore.toISOString()}`);
    }
    if (input.labels !== undefined) parseLabels(input.labels, 'labels');
    const entry: KeyringEntry = {
      kid: publicKey.kid,
      publicKey,
      publicKeyPath: input.publicKeyPath,
      privateKeyPath: input.privateKeyPath,
      notBefore,
      notAfter: input.notAfter,
      revoked: undefined,
      labels: input.labels === undefined ? undefined : { ...input.labels },
    };
    this.byKid.set(entry.kid, entry);
    return entry;
  }

  /**
   * Ends a key's validity at `notAfter` (exclusive): how a rotation retires the old key after an
   * overlap. It can only bring the end forward (or set one), never extend it.
   */
  expire(kid: string, notAfter: Date): KeyringEntry {
    const entry = this.byKid.get(kid);
    if (!entry) throw new KeyringError(`cannot expire kid ${kid}: it is not in the keyring${this.path ? ` ${this.path}` : ''}`);
    checkDate(notAfter, 'notAfter');
    if (notAfter.getTime() <= entry.notBefore.getTime()) throw new KeyringError(`notAfter ${notAfter.toISOString()} must be after kid ${kid}'s notBefore ${entry.notBefore.toISOString()}`);
    if (entry.notAfter && notAfter.getTime() > entry.notAfter.getTime()) {
      throw new KeyringError(`kid ${kid} expires at ${entry.notAfter.toISOString()} already; a key's validity is never extended (add a new key instead)`);
    }
    const expired: KeyringEntry = { ...entry, notAfter };
    this.byKid.set(kid, expired);
    return expired;
  }

  /** Marks a key revoked from `at` (default now) on. A revocation is never undone: add a new key instead. */
  revoke(kid: string, reason: string, at: Date = new Date()): KeyringEntry {
    const entry = this.byKid.get(kid);
    if (!entry) throw new KeyringError(`cannot revoke kid ${kid}: it is not in the keyring${this.path ? ` ${this.path}` : ''}`);
    if (entry.revoked) throw new KeyringError(`kid ${kid} was revoked already at ${entry.revoked.at.toISOString()} (${entry.revoked.reason})`);
    if (typeof reason !== 'string' || reason.trim() === '') throw new KeyringError(`revoking kid ${kid} needs a reason`);
    checkDate(at, 'revocation time');
    const revoked: KeyringEntry = { ...entry, revoked: { at, reason: reason.trim() } };
    this.byKid.set(kid, revoked);
    return revoked;
  }

  toJSON(): KeyringFile {
    return {
      version: KEYRING_VERSION,
      keys: this.entries.map((e) => ({
        kid: e.kid,
        ...(e.publicKeyPath !== undefined ? { publicKeyPath: e.publicKeyPath } : { jwk: e.publicKey.jwk }),
        ...(e.privateKeyPath !== undefined ? { privateKeyPath: e.privateKeyPath } : {}),
        notBefore: e.notBefore.toISOString(),
        ...(e.notAfter ? { notAfter: e.notAfter.toISOString() } : {}),
        ...(e.revoked ? { revoked: { at: e.revoked.at.toISOString(), reason: e.revoked.reason } } : {}),
        ...(e.labels ? { labels: e.labels } : {}),
      })),
    };
  }
}

/** The keyring file's text when loaded (null: there was no file), so a save can refuse to overwrite someone else's change. */
const loadedText = new WeakMap<Keyring, string | null>();

/**
 * Reads and checks a keyring file. With `allowMissing`, a missing file gives an empty keyring
 * (saved to that path later), for the first `keys rotate` on a host.
 */
export async function loadKeyring(path: string, options: { allowMissing?: boolean } = {}): Promise<Keyring> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (options.allowMissing && (err as NodeJS.ErrnoException).code === 'ENOENT') {
      const keyring = new Keyring({ path });
      loadedText.set(keyring, null);
      return keyring;
    }
    throw new KeyringError(`cannot read the keyring ${path}: ${errorMessage(err)}`, { cause: err });
  }
  return parseKeyring(text, { path });
}

const ENTRY_FIELDS = ['kid', 'publicKeyPath', 'jwk', 'privateKeyPath', 'notBefore', 'notAfter', 'revoked', 'labels'];
const JWK_FIELDS = ['kty', 'crv', 'x', 'kid', 'alg', 'use'];

/** Parses keyring JSON; key files named by relative paths are read from `baseDir` (default: the folder of `path`). */
export async function parseKeyring(text: string, options: { path?: string; baseDir?: string } = {}): Promise<Keyring> {
  const base = new Keyring(options);
  const name = options.path ?? 'keyring';
  const fail = (message: string, cause?: unknown): never => {
    throw new KeyringError(`${name}: ${message}`, cause === undefined ? undefined : { cause });
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return fail(`not valid JSON: ${errorMessage(err)}`, err);
  }
  if (!isRecord(doc)) return fail('must be a JSON object { "version": 1, "keys": [...] }');
  unknownFields(doc, ['version', 'keys'], '', fail);
  if (doc.version !== KEYRING_VERSION) fail(`version must be ${KEYRING_VERSION}, got ${JSON.stringify(doc.version)}`);
  if (!Array.isArray(doc.keys)) return fail('keys must be a list');

  const entries = new Map<string, KeyringEntry>();
  for (const [index, raw] of (doc.keys as unknown[]).entries()) {
    let where = `keys[${index}]`;
    if (!isRecord(raw)) return fail(`${where} must be an object`);
    if (typeof raw.kid !== 'string' || raw.kid === '') return fail(`${where}.kid must be a non-empty string`);
    const kid = raw.kid;
    where = `${where} (kid ${kid})`;
    unknownFields(raw, ENTRY_FIELDS, `${where}.`, fail);

    let publicKey: PublicKey;
    let publicKeyPath: string | undefined;
    if ((raw.publicKeyPath === undefined) === (raw.jwk === undefined)) return fail(`${where} needs exactly one of publicKeyPath and jwk`);
    if (raw.publicKeyPath !== undefined) {
      if (typeof raw.publicKeyPath !== 'string' || raw.publicKeyPath === '') return fail(`${where}.publicKeyPath must be a non-empty string`);
      publicKeyPath = raw.publicKeyPath;
      try {
        publicKey = await loadPublicKey(base.resolvePath(publicKeyPath));
      } catch (err) {
        return fail(`${where}.publicKeyPath: ${errorMessage(err)}`, err);
      }
    } else {
      if (!isRecord(raw.jwk)) return fail(`${where}.jwk must be an Ed25519 JWK object`);
      unknownFields(raw.jwk, JWK_FIELDS, `${where}.jwk.`, fail);
      if (raw.jwk.alg !== undefined && raw.jwk.alg !== 'EdDSA') fail(`${where}.jwk.alg must be EdDSA`);
      if (raw.jwk.use !== undefined && raw.jwk.use !== 'sig') fail(`${where}.jwk.use must be sig`);
      try {
        publicKey = parsePublicKey(JSON.stringify({ kty: raw.jwk.kty, crv: raw.jwk.crv, x: raw.jwk.x }), `${where}.jwk`);
      } catch (err) {
        return fail(errorMessage(err), err);
      }
      if (raw.jwk.kid !== undefined && raw.jwk.kid !== publicKey.kid) fail(`${where}.jwk.kid ${JSON.stringify(raw.jwk.kid)} is not the key's thumbprint ${publicKey.kid}`);
    }
    if (publicKey.kid !== kid) {
      fail(`${where}: kid does not match its key: the RFC 7638 thumbprint of ${publicKeyPath ?? 'the jwk'} is ${publicKey.kid}`);
    }
    if (entries.has(kid)) fail(`${where}: kid ${kid} is listed twice`);

    if (raw.privateKeyPath !== undefined && (typeof raw.privateKeyPath !== 'string' || raw.privateKeyPath === '')) {
      fail(`${where}.privateKeyPath must be a non-empty string`);
    }
    const notBefore = parseTimestamp(raw.notBefore, `${where}.notBefore`, fail, true)!;
    const notAfter = parseTimestamp(raw.notAfter, `${where}.notAfter`, fail, false);
    if (notAfter && notAfter.getTime() <= notBefore.getTime()) fail(`${where}.notAfter ${raw.notAfter} must be after notBefore ${raw.notBefore}`);
    let revoked: KeyRevocation | undefined;
    if (raw.revoked !== undefined) {
      if (!isRecord(raw.revoked)) return fail(`${where}.revoked must be an object { "at", "reason" }`);
      unknownFields(raw.revoked, ['at', 'reason'], `${where}.revoked.`, fail);
      const at = parseTimestamp(raw.revoked.at, `${where}.revoked.at`, fail, true)!;
      if (typeof raw.revoked.reason !== 'string' || raw.revoked.reason.trim() === '') return fail(`${where}.revoked.reason must be a non-empty string`);
      revoked = { at, reason: raw.revoked.reason };
    }
    let labels: Record<string, string> | undefined;
    if (raw.labels !== undefined) {
      try {
        labels = parseLabels(raw.labels, `${where}.labels`);
      } catch (err) {
        return fail(errorMessage(err), err);
      }
    }
    entries.set(kid, {
      kid,
      publicKey,
      publicKeyPath,
      privateKeyPath: raw.privateKeyPath as string | undefined,
      notBefore,
      notAfter,
      revoked,
      labels,
    });
  }
  const keyring = new Keyring({ ...options, entries: entries.values() });
  loadedText.set(keyring, text);
  return keyring;
}

/**
 * Writes the keyring atomically (write, then rename). Refuses when the file changed on disk
 * since this keyring was loaded (another `keys` command ran meanwhile): load it again and redo
 * the change, so a revocation is never lost to a concurrent save.
 */
export async function saveKeyring(keyring: Keyring, path: string | undefined = keyring.path): Promise<void> {
  if (path === undefined) throw new KeyringError('this keyring has no file: give saveKeyring a path');
  const target = resolve(path);
  const expected = target === keyring.path ? loadedText.get(keyring) : undefined;
  if (expected !== undefined) {
    let current: string | null;
    try {
      current = await readFile(target, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new KeyringError(`cannot read the keyring ${target} before saving: ${errorMessage(err)}`, { cause: err });
      current = null;
    }
    if (current !== expected) throw new KeyringError(`the keyring ${target} changed on disk since it was loaded; load it again and redo the change`);
  }
  const text = JSON.stringify(keyring.toJSON(), null, 2) + '\n';
  try {
    await writeFileAtomic(target, text);
  } catch (err) {
    throw new KeyringError(`cannot write the keyring ${target}: ${errorMessage(err)}`, { cause: err });
  }
  if (target === keyring.path) loadedText.set(keyring, text);
}

/** ISO 8601 with a time and a zone, as `Date.toISOString()` writes (seconds fraction optional). */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function parseTimestamp(value: unknown, where: string, fail: (message: string) => never, required: boolean): Date | undefined {
  if (value === undefined) return required ? fail(`${where} is required (an ISO 8601 time such as 2025-01-01T00:00:00Z)`) : undefined;
  if (typeof value !== 'string' || !TIMESTAMP.test(value)) return fail(`${where} must be an ISO 8601 time with a zone, such as 2025-01-01T00:00:00Z; got ${JSON.stringify(value)}`);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return fail(`${where} ${value} is not a real date`);
  return date;
}

function checkDate(value: unknown, what: string): void {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new KeyringError(`${what} must be a valid date`);
}

function parseLabels(value: unknown, where: string): Record<string, string> {
  if (!isRecord(value)) throw new KeyringError(`${where} must be an object of string values`);
  for (const [k, v] of Object.entries(value)) {
    if (k === '' || typeof v !== 'string') throw new KeyringError(`${where}.${k || '""'} must be a string`);
  }
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function unknownFields(value: Record<string, unknown>, allowed: readonly string[], prefix: string, fail: (message: string) => never): void {
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
  if (unknown.length) fail(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `${prefix}${k}`).join(', ')} (allowed: ${allowed.join(', ')})`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
