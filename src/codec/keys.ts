/**
 * Codec keys, parsed once at the edge into typed values. They come from a keys file or the
 * environment, never from workflow history: the codec only ever puts a key *id* on a payload.
 *
 *   MODELSHIP_CODEC_KEYS_FILE=keys.json   {"current": "k2", "keys": {"k2": "<32 bytes>", "k1": "<32 bytes>"}}
 *   MODELSHIP_CODEC_KEYS="k2=<32 bytes>,k1=<32 bytes>"   (the first one encrypts)
 *   MODELSHIP_CODEC_KEY_ID=k1                            (optional: encrypt with this one instead)
 *
 * A key is 32 bytes written as 64 hex digits or as base64 (44 characters).
 */
import { readFile } from 'node:fs/promises';
import { CodecConfigError } from '../errors/index.js';

export const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** Which key encrypts, and every key that may decrypt (the current one included). */
export interface CodecKeyring {
  readonly currentKeyId: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

export function parseKeyId(id: string, where: string): string {
  if (!KEY_ID.test(id)) throw new CodecConfigError(`${where}: key id ${JSON.stringify(id)} is not valid: use 1-64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit`);
  return id;
}

/** 64 hex digits or strict base64 of exactly 32 bytes; the message names the key id, never the value. */
export function parseKeyBytes(value: string, keyId: string, where: string): Buffer {
  const text = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  const bytes = Buffer.from(text, 'base64');
  // Buffer.from ignores junk in base64: only accept text that round-trips.
  if (bytes.length === KEY_BYTES && bytes.toString('base64').replace(/=+$/, '') === text.replace(/=+$/, '')) return bytes;
  throw new CodecConfigError(`${where}: key ${keyId} is not ${KEY_BYTES} bytes as 64 hex digits or base64 (generate one with: openssl rand -base64 32)`);
}

export function makeKeyring(entries: ReadonlyArray<readonly [string, string]>, currentKeyId: string | undefined, where: string): CodecKeyring {
  if (entries.length === 0) throw new CodecConfigError(`${where}: no keys listed`);
  const keys = new Map<string, Buffer>();
  for (const [rawId, value] of entries) {
    const id = parseKeyId(rawId, where);
    if (keys.has(id)) throw new CodecConfigError(`${where}: key ${id} is listed twice`);
    keys.set(id, parseKeyBytes(value, id, where));
  }
  const current = currentKeyId === undefined ? entries[0]![0] : parseKeyId(currentKeyId, where);
  if (!keys.has(current)) throw new CodecConfigError(`${where}: the current key ${current} is not among the listed keys (${[...keys.keys()].join(', ')})`);
  return { currentKeyId: current, keys };
}

/** `id=key,id=key`: the form of MODELSHIP_CODEC_KEYS. */
export function parseKeysVariable(text: string, where = 'MODELSHIP_CODEC_KEYS'): Array<[string, string]> {
  return text
    .split(/[,\n]/)
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new CodecConfigError(`${where}: expected id=key pairs separated by commas, got an entry without '=' (entry ${JSON.stringify(part.slice(0, 12))}…)`);
      return [part.slice(0, eq).trim(), part.slice(eq + 1)];
    });
}

/** A keys file: `{"current": "<id>", "keys": {"<id>": "<key>", ...}}`. */
export async function loadKeysFile(path: string, currentOverride?: string): Promise<CodecKeyring> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CodecConfigError(`cannot read the codec keys file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CodecConfigError(`codec keys file ${path} is not JSON: expected {"current": "<id>", "keys": {"<id>": "<base64 or hex key>"}}`);
  }
  const { current, keys } = (doc ?? {}) as { current?: unknown; keys?: unknown };
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) throw new CodecConfigError(`codec keys file ${path}: "keys" must be an object of key id to key`);
  if (current !== undefined && typeof current !== 'string') throw new CodecConfigError(`codec keys file ${path}: "current" must be a key id`);
  const entries = Object.entries(keys).map(([id, value]): [string, string] => {
    if (typeof value !== 'string') throw new CodecConfigError(`codec keys file ${path}: key ${id} must be a string (base64 or hex)`);
    return [id, value];
  });
  return makeKeyring(entries, currentOverride ?? current, `codec keys file ${path}`);
}

/**
 * The keyring the environment configures, or undefined when none is: then payloads are not
 * encrypted and everything behaves as before. Setting both the file and the variable is refused.
 */
export async function keyringFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<CodecKeyring | undefined> {
  const file = env.MODELSHIP_CODEC_KEYS_FILE;
  const inline = env.MODELSHIP_CODEC_KEYS;
  const current = env.MODELSHIP_CODEC_KEY_ID || undefined;
  if (file && inline) throw new CodecConfigError('both MODELSHIP_CODEC_KEYS_FILE and MODELSHIP_CODEC_KEYS are set: keep one');
  if (file) return loadKeysFile(file, current);
  if (inline) return makeKeyring(parseKeysVariable(inline), current, 'MODELSHIP_CODEC_KEYS');
  if (current) throw new CodecConfigError('MODELSHIP_CODEC_KEY_ID is set but no keys are: set MODELSHIP_CODEC_KEYS_FILE or MODELSHIP_CODEC_KEYS');
  return undefined;
}
