import { stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { generateKeyFiles, passphraseFromEnvironment } from '../crypto/keys.js';
import { DEFAULT_KEYRING_FILE, describeKeyStatus, keyStatus, loadKeyring, saveKeyring } from '../trust/keyring.js';
import { checkPolicyAgainstKeyring, loadTrustPolicy } from '../trust/policy.js';
import { CliError, printJson, say, warn } from './output.js';

import { DEFAULT_KEY_NAME } from './defaults.js';

export async function keysGenerate(options: { dir: string; name: string; json?: boolean }): Promise<void> {
  const passphrase = await passphraseFromEnvironment();
  const files = await generateKeyFiles(options.dir, options.name, passphrase);
  if (options.json) return printJson(files);
  say(`kid ${files.kid}`);
  say(`private key (encrypted PKCS#8): ${files.privateKeyPath}`);
  say(`public key: ${files.publicKeyPath}`);
  say(`public JWK: ${files.publicJwkPath}`);
}

// ---- keyring: list, rotate, revoke ----

export interface KeyringOptions {
  readonly dir: string;
  /** Default: <dir>/keyring.json. */
  readonly keyring?: string;
  readonly json?: boolean;
}

function keyringPathOf(options: KeyringOptions): string {
  return resolve(options.keyring ?? join(options.dir, DEFAULT_KEYRING_FILE));
}

function parseAt(at: string | undefined): Date {
  const date = at === undefined ? new Date() : new Date(at);
  if (Number.isNaN(date.getTime())) throw new CliError(`--at ${at} is not a date (ISO 8601, e.g. 2025-06-01T00:00:00Z)`);
  return date;
}

export async function keysList(options: KeyringOptions & { policy?: string; at?: string }): Promise<void> {
  const keyring = await loadKeyring(keyringPathOf(options));
  const at = parseAt(options.at);
  const keys = keyring.entries.map((e) => {
    const status = keyStatus(e, at);
    return {
      kid: e.kid,
      status: status.state,
      detail: status.state === 'valid' ? (e.notAfter ? `valid until ${e.notAfter.toISOString()}` : 'valid, no end date') : describeKeyStatus(status),
      notBefore: e.notBefore.toISOString(),
      notAfter: e.notAfter?.toISOString(),
      signer: e.privateKeyPath !== undefined,
      publicKeyPath: e.publicKeyPath,
      labels: e.labels,
    };
  });
  const warnings = options.policy ? checkPolicyAgainstKeyring(await loadTrustPolicy(resolve(options.policy)), keyring, at) : [];
  if (options.json) return printJson({ keyring: keyring.path, at: at.toISOString(), keys, warnings });
  say(`${keyring.path} at ${at.toISOString()}`);
  for (const k of keys) say(`  ${k.kid}  ${k.status.padEnd(13)} ${k.signer ? 'signs ' : '      '} ${k.detail}${k.labels ? `  ${JSON.stringify(k.labels)}` : ''}`);
  for (const w of warnings) warn(`warning: ${w}`);
}

/**
 * Starts a rotation: a new key pair in <dir>, added to the keyring as a signer from now on. Until
 * the old key is retired (--retire-old-after, or `keys revoke`), releases are signed by both.
 * A keys folder from before keyrings (release.key.pem / release.pub.pem) is put in the keyring first.
 */
export async function keysRotate(options: KeyringOptions & { name?: string; retireOldAfterDays?: string }): Promise<void> {
  const path = keyringPathOf(options);
  const keyring = await loadKeyring(path, { allowMissing: true });
  const rel = (file: string) => relative(dirname(path), file);
  const legacy = join(options.dir, `${DEFAULT_KEY_NAME}.pub.pem`);
  if (keyring.size === 0 && (await stat(legacy).catch(() => undefined))) {
    await keyring.add({
      publicKeyPath: rel(legacy),
      privateKeyPath: rel(join(options.dir, `${DEFAULT_KEY_NAME}.key.pem`)),
      notBefore: (await stat(legacy)).mtime,
      labels: { origin: 'keys generate' },
    });
  }
  const now = new Date();
  const name = options.name ?? `release-${now.toISOString().slice(0, 10)}`;
  const files = await generateKeyFiles(options.dir, name, await passphraseFromEnvironment());
  const previous = keyring.activeSigners(now);
  await keyring.add({ publicKeyPath: rel(files.publicKeyPath), privateKeyPath: rel(files.privateKeyPath), notBefore: now, labels: { origin: 'keys rotate' } });
  if (options.retireOldAfterDays !== undefined) {
    const days = Number(options.retireOldAfterDays);
    if (!(days > 0)) throw new CliError('--retire-old-after <days> must be a positive number');
    for (const old of previous) keyring.expire(old.kid, new Date(now.getTime() + days * 86_400_000));
  }
  await saveKeyring(keyring);
  const signers = keyring.activeSigners(now).map((e) => e.kid);
  if (options.json) return printJson({ ...files, keyring: path, signers });
  say(`new kid ${files.kid} (${files.privateKeyPath})`);
  say(`releases are now signed by ${signers.length} key(s): ${signers.join(', ')}`);
  say('next: add the new kid to trustedKids in the trust policy, and its public key to every verifier and serving runtime, before the old key is retired');
}

export async function keysRevoke(kid: string, options: KeyringOptions & { reason: string; at?: string }): Promise<void> {
  const keyring = await loadKeyring(keyringPathOf(options));
  const entry = keyring.revoke(kid, options.reason, parseAt(options.at));
  await saveKeyring(keyring);
  if (options.json) return printJson({ kid, revoked: entry.revoked });
  say(`kid ${kid} revoked at ${entry.revoked!.at.toISOString()}: ${entry.revoked!.reason}`);
  if (keyring.activeSigners(new Date()).length === 0) warn('warning: no valid key with a private key is left: releases cannot be signed until `modelship keys rotate`');
}
