import { pathExists } from '../path-exists.js';
import { dirname, join, resolve } from 'node:path';
import { loadSigningKey, type SigningKey } from '../crypto/keys.js';
import { KeyringError } from '../errors/index.js';
import { DEFAULT_KEYRING_FILE, describeKeyStatus, keyStatus, loadKeyring } from './keyring.js';

/**
 * The keys a release is signed with. Without a keyring next to the signing key (the layout
 * before keyrings), that one key. With `keyring.json` in the signing key's folder (or at
 * `keyringPath`), every key valid at `at` that has a private key, so during a rotation old and
 * new both sign; the requested key must be one of them (a revoked or expired key, or one the
 * keyring does not know, is refused rather than silently replaced). Every signer is loaded: a
 * signer that cannot be (missing file, wrong passphrase) fails the whole call, since a release
 * signed by fewer keys than the rotation promises would not verify where only the new key is known.
 * Keys are returned in keyring order.
 */
export async function loadReleaseSigners(
  signingKeyPath: string,
  passphrase: string,
  options: { keyringPath?: string; at?: Date } = {},
): Promise<SigningKey[]> {
  const keyringPath = resolve(options.keyringPath ?? join(dirname(signingKeyPath), DEFAULT_KEYRING_FILE));
  const requested = await loadSigningKey(signingKeyPath, passphrase);
  if (options.keyringPath === undefined && !(await pathExists(keyringPath))) return [requested];
  const keyring = await loadKeyring(keyringPath);
  const at = options.at ?? new Date();
  const entry = keyring.get(requested.kid);
  if (!entry) throw new KeyringError(`the signing key ${signingKeyPath} (kid ${requested.kid}) is not in the keyring ${keyringPath}`);
  const status = keyStatus(entry, at);
  if (status.state !== 'valid') throw new KeyringError(`the signing key ${signingKeyPath} (kid ${requested.kid}) is ${describeKeyStatus(status)}`);
  const signers: SigningKey[] = [];
  for (const signer of keyring.activeSigners(at)) {
    if (signer.kid === requested.kid) {
      signers.push(requested);
      continue;
    }
    const key = await loadSigningKey(keyring.resolvePath(signer.privateKeyPath!), passphrase);
    if (key.kid !== signer.kid) throw new KeyringError(`${signer.privateKeyPath} holds kid ${key.kid}, but the keyring lists it for kid ${signer.kid}`);
    signers.push(key);
  }
  // The requested key is valid but has no privateKeyPath in the keyring: it still signs.
  if (!signers.some((k) => k.kid === requested.kid)) signers.unshift(requested);
  return signers;
}

