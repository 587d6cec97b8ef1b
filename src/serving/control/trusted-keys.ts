import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadPublicKey, type PublicKey } from '../../crypto/keys.js';
import { decodeBase64UrlStrict } from '../../crypto/base64.js';
import { errorMessage } from '../../errors/index.js';

/** Public key files the runtime trusts: `*.pub.pem` (SPKI) and `*.pub.jwk.json` (Ed25519 JWK). */
export const TRUSTED_KEY_SUFFIXES = ['.pub.pem', '.pub.jwk.json'] as const;

export interface TrustedKeys {
  readonly dir: string;
  /** By kid (RFC 7638 thumbprint), so the same key in both formats counts once. */
  readonly byKid: ReadonlyMap<string, PublicKey>;
  /** Files that look like keys but could not be read, or why the directory could not be listed. */
  readonly problems: readonly string[];
}

/**
 * Reads the trusted keys directory. It is read again for every deploy, so adding a key
 * (rotation) needs no restart, and removing one stops new deploys signed by it.
 */
export async function loadTrustedKeys(dir: string): Promise<TrustedKeys> {
  const byKid = new Map<string, PublicKey>();
  const problems: string[] = [];
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    return { dir, byKid, problems: [`cannot list the trusted keys directory ${dir}: ${errorMessage(err)}`] };
  }
  for (const name of names) {
    if (!TRUSTED_KEY_SUFFIXES.some((suffix) => name.endsWith(suffix))) continue;
    try {
      const key = await loadPublicKey(join(dir, name));
      byKid.set(key.kid, key);
    } catch (err) {
      problems.push(`${name}: ${errorMessage(err)}`);
    }
  }
  return { dir, byKid, problems };
}

/**
 * The kids named in the protected headers of a general-JSON JWS file. These only choose the
 * key to verify with; nothing is trusted until `verifyBundle` has checked the signature.
 */
export async function readJwsKids(path: string): Promise<{ kids: string[] } | { error: string }> {
  try {
    const jws = JSON.parse(await readFile(path, 'utf8')) as { signatures?: Array<{ protected?: unknown }> };
    const kids: string[] = [];
    for (const entry of Array.isArray(jws.signatures) ? jws.signatures : []) {
      if (typeof entry?.protected !== 'string') continue;
      const header = JSON.parse(decodeBase64UrlStrict(entry.protected, 'protected header').toString('utf8')) as { kid?: unknown };
      if (typeof header.kid === 'string') kids.push(header.kid);
    }
    return kids.length ? { kids } : { error: 'names no kid' };
  } catch (err) {
    return { error: errorMessage(err) };
  }
}

/** The keyids of a DSSE envelope (a hint for which key to report checks against when model.jws is unreadable). */
export async function readDsseKeyIds(path: string): Promise<string[]> {
  try {
    const envelope = JSON.parse(await readFile(path, 'utf8')) as { signatures?: Array<{ keyid?: unknown }> };
    return (Array.isArray(envelope.signatures) ? envelope.signatures : []).map((s) => s?.keyid).filter((k): k is string => typeof k === 'string');
  } catch {
    return [];
  }
}
