import { dirname, join, resolve } from 'node:path';
import type { SigningKey } from '../crypto/keys.js';
import { pathExists } from '../path-exists.js';
import { DEFAULT_KEYRING_FILE, Keyring, loadKeyring } from './keyring.js';
import type { TrustPolicy } from './policy.js';
import type { TrustDir } from './trust-dir.js';

export const RELEASE_KEYS_RULE = "the release's signing keys";

/**
 * Trust for a worker without a trust folder of its own: the public halves of the keys the release
 * signs with (`loadReleaseSigners`), so the bundle is still verified before it is used, if only
 * against its own signers. Key status comes from the keyring beside the signing key when there is
 * one (a key revoked there is refused), else the keys are taken as valid. One valid signature by
 * any of them is enough: the point is that nothing changed since it was signed, and which keys
 * a release needs is a trust policy's call.
 */
export async function releaseKeysTrust(signingKeyPath: string, signers: readonly SigningKey[]): Promise<TrustDir & { readonly source: string }> {
  const keyringPath = join(dirname(resolve(signingKeyPath)), DEFAULT_KEYRING_FILE);
  const keyring = (await pathExists(keyringPath))
    ? await loadKeyring(keyringPath)
    : new Keyring({
        entries: signers.map((k) => ({
          kid: k.kid,
          publicKey: k.publicKey,
          publicKeyPath: undefined,
          privateKeyPath: undefined,
          notBefore: new Date(0),
          notAfter: undefined,
          revoked: undefined,
          labels: undefined,
        })),
      });
  const policy: TrustPolicy = {
    source: RELEASE_KEYS_RULE,
    rules: [{ where: RELEASE_KEYS_RULE, models: ['*'], trustedKids: signers.map((k) => k.kid), threshold: 1, description: undefined }],
    default: undefined,
  };
  return { keyring, policy, source: keyring.path ?? resolve(signingKeyPath) };
}
