import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadPublicKey, type PublicKey } from '../crypto/keys.js';
import { errorMessage } from '../errors/index.js';

/** Public key files a trusted keys folder without keyring.json holds (the serving runtime's original setup): `*.pub.pem` (SPKI) and `*.pub.jwk.json` (Ed25519 JWK). */
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
