import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServingAdminClient } from '../serving-client/admin-client.js';
import { newAdminKey, readAdminKey, writeAdminKey, type AdminCredentials } from '../serving-client/admin-key-file.js';
import { ADMIN_KEY_SUFFIX } from '../serving/protocol/admin/keyring.js';
import { ADMIN_KEY_ID_PATTERN } from '../serving-client/admin-signing.js';
import { ServingRejectedError, errorMessage } from '../errors/index.js';
import { CliError, printJson, say } from './output.js';

export interface RotateOptions {
  readonly keysDir?: string;
  readonly keyFile?: string;
  readonly url?: string;
  readonly kid?: string;
  readonly graceSeconds?: string;
  readonly keepOld?: boolean;
  readonly json?: boolean;
}

function settings(options: { keysDir?: string; keyFile?: string; url?: string }) {
  const keysDir = options.keysDir ?? process.env.MODELSHIP_SERVING_ADMIN_KEYS_DIR;
  const keyFile = options.keyFile ?? process.env.MODELSHIP_SERVING_ADMIN_KEY_FILE;
  if (!keysDir) throw new CliError('no admin keys folder: give --keys-dir or set MODELSHIP_SERVING_ADMIN_KEYS_DIR (the folder the serving runtime reads with --admin-keys-dir)', 2);
  return { keysDir, keyFile, url: options.url ?? process.env.MODELSHIP_SERVING_URL ?? 'http://127.0.0.1:8300' };
}

/** Whether the server accepts `key` now: a signed status call; 401 is "no", anything else unexpected is an error. */
async function accepted(url: string, key: AdminCredentials): Promise<boolean> {
  try {
    await new ServingAdminClient({ baseUrl: url, secret: () => Promise.resolve(key), timeoutMs: 10_000 }).list();
    return true;
  } catch (err) {
    if (err instanceof ServingRejectedError && err.status === 401) return false;
    throw new CliError(`cannot check the admin key against ${url}: ${errorMessage(err)}`);
  }
}

/** The ids, in the keys folder, of the files holding `key` (by id when it has one, else by secret). */
async function idsHolding(keysDir: string, key: AdminCredentials): Promise<string[]> {
  const ids: string[] = [];
  for (const name of (await readdir(keysDir)).filter((n) => n.endsWith(ADMIN_KEY_SUFFIX))) {
    const kid = name.slice(0, -ADMIN_KEY_SUFFIX.length);
    if (key.kid !== undefined) {
      if (kid === key.kid) ids.push(kid);
      continue;
    }
    const held = await readAdminKey(join(keysDir, name)).catch(() => undefined);
    if (held?.secret === key.secret) ids.push(kid);
  }
  return ids;
}

function defaultKid(): string {
  return `admin-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

/**
 * `modelship serving rotate-admin-key`: replaces the admin key without a failed call.
 *  1. introduce: a new `<kid>.key` in the server's admin keys folder; the server reads the folder
 *     for every admin request, so it is valid at once, beside the old one (checked by a signed call);
 *  2. switch: the clients' key file (--key-file) now holds the new key; workers and the CLI read
 *     it for every request;
 *  3. retire (after --grace-seconds, unless --keep-old): the old key's file is removed, and a
 *     call signed with it is checked to be refused.
 * Secrets are never printed: only key ids.
 */
export async function rotateAdminKeyCommand(options: RotateOptions): Promise<void> {
  const { keysDir, keyFile, url } = settings(options);
  if (!keyFile) throw new CliError('no client key file to switch: give --key-file or set MODELSHIP_SERVING_ADMIN_KEY_FILE', 2);
  const grace = Number(options.graceSeconds ?? '10');
  if (!Number.isFinite(grace) || grace < 0 || grace > 3600) throw new CliError(`--grace-seconds must be 0-3600, got ${JSON.stringify(options.graceSeconds)}`, 2);
  if (!(await stat(keysDir).catch(() => undefined))?.isDirectory()) throw new CliError(`${keysDir} is not a folder`, 2);

  const old = await readAdminKey(keyFile);
  const oldIds = await idsHolding(keysDir, old);
  const fresh = newAdminKey(options.kid ?? defaultKid());
  const freshPath = join(keysDir, `${fresh.kid}${ADMIN_KEY_SUFFIX}`);
  if (await stat(freshPath).catch(() => undefined)) throw new CliError(`${freshPath} already exists: pick another --kid`, 2);
  const step = (line: string) => !options.json && say(line);

  await writeAdminKey(freshPath, fresh);
  if (!(await accepted(url, fresh).catch(async (err: unknown) => {
    await rm(freshPath, { force: true });
    throw err;
  }))) {
    await rm(freshPath, { force: true });
    throw new CliError(`the serving runtime at ${url} does not accept a key added to ${keysDir}; nothing changed (is it started with --admin-keys-dir ${keysDir}?)`);
  }
  step(`introduced ${fresh.kid} in ${keysDir}: the server accepts it (old key${oldIds.length ? ` ${oldIds.join(', ')}` : ''} still valid)`);

  await writeAdminKey(keyFile, fresh);
  step(`switched ${keyFile} to ${fresh.kid}: workers and the CLI sign with it from their next request`);

  if (options.keepOld) {
    step(`kept the old key${oldIds.length ? ` ${oldIds.join(', ')}` : ''}; when every client has the new key: modelship serving retire-admin-key <kid> --keys-dir ${keysDir}`);
    if (options.json) printJson({ introduced: fresh.kid, keyFile, retired: [], kept: oldIds });
    return;
  }
  if (grace > 0) {
    step(`waiting ${grace}s for requests signed with the old key`);
    await sleep(grace * 1000);
  }
  for (const kid of oldIds) await rm(join(keysDir, `${kid}${ADMIN_KEY_SUFFIX}`), { force: true });
  const stillAccepted = await accepted(url, old);
  if (stillAccepted) {
    throw new CliError(`the new key ${fresh.kid} is in use, but the server still accepts the old key: it is not a file in ${keysDir} (a fixed --admin-key-file or MODELSHIP_SERVING_ADMIN_KEY?); restart the server without it`);
  }
  step(`retired ${oldIds.length ? oldIds.join(', ') : 'the old key'}: the server refuses it`);
  if (options.json) printJson({ introduced: fresh.kid, keyFile, retired: oldIds, kept: [] });
}

/** `modelship serving retire-admin-key <kid>`: removes a key from the server's admin keys folder (the second half of a --keep-old rotation). */
export async function retireAdminKeyCommand(kid: string, options: { keysDir?: string; keyFile?: string; json?: boolean }): Promise<void> {
  const { keysDir, keyFile } = settings(options);
  if (!ADMIN_KEY_ID_PATTERN.test(kid)) throw new CliError(`${JSON.stringify(kid)} is not a key id`, 2);
  const path = join(keysDir, `${kid}${ADMIN_KEY_SUFFIX}`);
  if (!(await stat(path).catch(() => undefined))) throw new CliError(`no admin key ${kid} in ${keysDir}`, 2);
  if (keyFile && (await readAdminKey(keyFile).catch(() => undefined))?.kid === kid) {
    throw new CliError(`${keyFile} still holds ${kid}: retiring it would lock the clients out; rotate first`, 2);
  }
  await rm(path);
  if (options.json) return printJson({ retired: kid });
  say(`retired ${kid}: the server refuses it from its next admin request`);
}
