import { resolve } from 'node:path';
import { loadPublicKey, type PublicKey, type SigningKey } from '../crypto/keys.js';
import { TrustPolicyError } from '../errors/index.js';
import { loadTrustedKeys } from './key-files.js';
import { DEFAULT_KEYRING_FILE, loadKeyring, type Keyring } from './keyring.js';
import { loadTrustPolicy, type TrustPolicy } from './policy.js';
import { releaseKeysTrust } from './release-keys-trust.js';
import { loadTrustDir, TRUST_POLICY_FILES } from './trust-dir.js';

/**
 * Where the trust a bundle is verified under comes from: every place modelship verifies a bundle
 * names one of these, and `resolveTrust` turns it into a `Trust`. Folders are read again on every
 * resolution, so a key rotation needs no restart.
 */
export type TrustSource =
  /** The worker's trust folder (MODELSHIP_TRUSTED_KEYS_DIR): keyring.json and trust-policy.yaml, both required. */
  | { readonly kind: 'worker-trust-dir'; readonly dir: string }
  /** A worker without a trust folder: the public halves of the keys the release signs with (see release-keys-trust.ts). */
  | { readonly kind: 'release-keys'; readonly signingKeyPath: string; readonly signers: readonly SigningKey[] }
  /** The serving runtime's --trusted-keys-dir: keyring.json and a trust policy, or else `*.pub.pem` / `*.pub.jwk.json` files. */
  | { readonly kind: 'serving-trusted-keys'; readonly dir: string }
  /** The CLI's `verify --key <public key file>`. */
  | { readonly kind: 'public-key'; readonly path: string }
  /** The CLI's `verify --keyring <keyring.json> --policy <file>`. */
  | { readonly kind: 'keyring-and-policy'; readonly keyringPath: string; readonly policyPath: string };

/**
 * Trust, resolved: what `openBundle` checks signatures against. Under a policy, model.jws needs
 * t signatures by kids trusted for the model; with keys, one signature by any of them.
 */
export type Trust =
  | { readonly kind: 'policy'; readonly keyring: Keyring; readonly policy: TrustPolicy; /** Default: now. */ readonly at?: Date; readonly source: string }
  | { readonly kind: 'keys'; /** By kid, each kid its key's RFC 7638 thumbprint. */ readonly keys: ReadonlyMap<string, PublicKey>; readonly source: string; /** The folder the keys were read from, named when a signature is by none of them. */ readonly dir?: string };

/** Trust in one public key. */
export function trustKey(key: PublicKey, source = `kid ${key.kid}`): Trust {
  return { kind: 'keys', keys: new Map([[key.kid, key]]), source };
}

/**
 * Loads the keys and policy a trust source names. Throws TrustPolicyError when it is unusable
 * (a folder with a keyring and no policy, an invalid file, no keys at all): a broken trust setup
 * refuses every bundle instead of falling back to something weaker.
 */
export async function resolveTrust(source: TrustSource, at: Date = new Date()): Promise<Trust> {
  switch (source.kind) {
    case 'worker-trust-dir': {
      const loaded = await loadTrustDir(source.dir);
      if (!loaded) {
        throw new TrustPolicyError(
          `the worker's trust folder MODELSHIP_TRUSTED_KEYS_DIR=${source.dir} holds no ${DEFAULT_KEYRING_FILE} and ${TRUST_POLICY_FILES[0]} (or cannot be read): put both there, or unset it to verify against the release's own keys`,
        );
      }
      if ('problem' in loaded) throw new TrustPolicyError(`the worker's trust folder (MODELSHIP_TRUSTED_KEYS_DIR) is unusable: ${loaded.problem}`);
      return { kind: 'policy', ...loaded, at, source: resolve(source.dir) };
    }
    case 'release-keys': {
      const own = await releaseKeysTrust(source.signingKeyPath, source.signers);
      return { kind: 'policy', keyring: own.keyring, policy: own.policy, at, source: own.source };
    }
    case 'serving-trusted-keys': {
      // A keyring and trust policy in the folder switch on t-of-n per model name; without them
      // (or if the folder cannot be listed) its key files are the trusted set.
      const loaded = await loadTrustDir(source.dir);
      if (loaded && 'problem' in loaded) throw new TrustPolicyError(loaded.problem);
      if (loaded) return { kind: 'policy', ...loaded, at, source: resolve(source.dir) };
      const files = await loadTrustedKeys(source.dir);
      if (files.byKid.size === 0) throw new TrustPolicyError(`no trusted keys in ${source.dir}${files.problems.length ? ` (${files.problems.join('; ')})` : ''}`);
      return { kind: 'keys', keys: files.byKid, source: source.dir, dir: source.dir };
    }
    case 'public-key':
      return trustKey(await loadPublicKey(resolve(source.path)), resolve(source.path));
    case 'keyring-and-policy':
      return { kind: 'policy', keyring: await loadKeyring(resolve(source.keyringPath)), policy: await loadTrustPolicy(resolve(source.policyPath)), at, source: resolve(source.policyPath) };
  }
}
