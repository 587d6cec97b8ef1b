import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ServingConfigError, errorMessage } from '../errors/index.js';
import { ADMIN_KEY_ID_PATTERN } from './admin-signing.js';

/** Shortest admin secret accepted. */
export const MIN_ADMIN_SECRET_LENGTH = 16;

/** An admin key: its secret, and the id it is known by (absent for a bare secret of old). */
export interface AdminCredentials {
  readonly kid?: string | undefined;
  readonly secret: string;
}

/**
 * An admin key file's contents: either `{ "kid": "...", "secret": "..." }` (what rotation
 * writes, so a client knows which key it holds) or the bare secret (one trailing newline
 * ignored). Errors name the file but never repeat its contents.
 */
export function parseAdminKey(text: string, where: string): AdminCredentials {
  const trimmed = text.replace(/\r?\n$/, '');
  if (trimmed.trimStart().startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch {
      throw new ServingConfigError(`${where} looks like JSON but does not parse; expected { "kid": "...", "secret": "..." }`);
    }
    const { kid, secret } = (doc ?? {}) as { kid?: unknown; secret?: unknown };
    if (typeof kid !== 'string' || !ADMIN_KEY_ID_PATTERN.test(kid)) throw new ServingConfigError(`${where}: "kid" must match ${ADMIN_KEY_ID_PATTERN}`);
    return { kid, secret: checkSecret(secret, where) };
  }
  return { secret: checkSecret(trimmed, where) };
}

function checkSecret(secret: unknown, where: string): string {
  if (typeof secret !== 'string' || secret.length === 0) throw new ServingConfigError(`${where}: no admin secret`);
  if (secret.length < MIN_ADMIN_SECRET_LENGTH) throw new ServingConfigError(`${where}: the admin secret must have at least ${MIN_ADMIN_SECRET_LENGTH} characters`);
  return secret;
}

export async function readAdminKey(path: string): Promise<AdminCredentials> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ServingConfigError(`cannot read the admin key file ${path}: ${errorMessage(err)}`);
  }
  return parseAdminKey(text, path);
}

/** Writes a key file readable by its owner only, atomically (readers see the old file or the new one, never half). */
export async function writeAdminKey(path: string, key: AdminCredentials & { readonly kid: string }, form: 'json' | 'bare' = 'json'): Promise<void> {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  const text = form === 'json' ? `${JSON.stringify({ kid: key.kid, secret: key.secret })}\n` : `${key.secret}\n`;
  try {
    await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new ServingConfigError(`cannot write the admin key file ${path}: ${errorMessage(err)}`);
  }
}

/** A fresh admin key: 32 random bytes in hex, with the given id. */
export function newAdminKey(kid: string): AdminCredentials & { readonly kid: string } {
  if (!ADMIN_KEY_ID_PATTERN.test(kid)) throw new ServingConfigError(`admin key id ${JSON.stringify(kid)} must match ${ADMIN_KEY_ID_PATTERN}`);
  return { kid, secret: randomBytes(32).toString('hex') };
}
