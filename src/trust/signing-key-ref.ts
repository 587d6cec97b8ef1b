import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidKeyError, errorMessage } from '../errors/index.js';
import { loadPublicKey } from '../crypto/keys.js';
import { pathExists } from '../path-exists.js';
import { DEFAULT_KEYRING_FILE, loadKeyring } from './keyring.js';

import { KID_PREFIX, namesKeyByKid } from '../release/signing-key-name.js';

export { KID_PREFIX, namesKeyByKid };

/**
 * The encrypted private key file this worker signs with. A `kid:` is looked up in the folder's
 * keyring.json (its privateKeyPath) if there is one, else among `<name>.pub.pem` files, whose
 * `<name>.key.pem` beside them is the key. A path is returned as it is.
 */
export async function resolveSigningKeyPath(signingKey: string, signingKeysDir: string | undefined): Promise<string> {
  if (!namesKeyByKid(signingKey)) return signingKey;
  const kid = signingKey.slice(KID_PREFIX.length);
  if (!signingKeysDir) {
    throw new InvalidKeyError(`the release names its signing key by ${signingKey}, but this worker has no MODELSHIP_SIGNING_KEYS_DIR to find it in`);
  }
  const dir = resolve(signingKeysDir);
  const keyringPath = join(dir, DEFAULT_KEYRING_FILE);
  if (await pathExists(keyringPath)) {
    const keyring = await loadKeyring(keyringPath);
    const entry = keyring.get(kid);
    if (entry?.privateKeyPath) return keyring.resolvePath(entry.privateKeyPath);
  }
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new InvalidKeyError(`cannot list MODELSHIP_SIGNING_KEYS_DIR=${dir}: ${errorMessage(err)}`);
  }
  for (const name of names.filter((n) => n.endsWith('.pub.pem')).sort()) {
    const publicKey = await loadPublicKey(join(dir, name)).catch(() => undefined);
    if (publicKey?.kid !== kid) continue;
    const privateKeyPath = join(dir, name.replace(/\.pub\.pem$/, '.key.pem'));
    if (!(await pathExists(privateKeyPath))) throw new InvalidKeyError(`${join(dir, name)} is kid ${kid}, but its private key ${privateKeyPath} is not on this worker`);
    return privateKeyPath;
  }
  throw new InvalidKeyError(`no signing key with kid ${kid} in MODELSHIP_SIGNING_KEYS_DIR=${dir} (looked in ${DEFAULT_KEYRING_FILE} and the *.pub.pem files)`);
}
