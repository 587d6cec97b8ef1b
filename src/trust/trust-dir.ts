import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../errors/index.js';
import { DEFAULT_KEYRING_FILE, loadKeyring, type Keyring } from './keyring.js';
import { loadTrustPolicy, type TrustPolicy } from './policy.js';

/** Trust policy file names looked for in a trusted keys folder, in this order. */
export const TRUST_POLICY_FILES = ['trust-policy.yaml', 'trust-policy.yml', 'trust-policy.json'] as const;

/** A keyring and trust policy read from one folder. */
export interface TrustDir {
  readonly keyring: Keyring;
  readonly policy: TrustPolicy;
}

/**
 * The keyring and trust policy of a trusted keys folder (the serving runtime's
 * `--trusted-keys-dir`, a worker's `MODELSHIP_TRUSTED_KEYS_DIR`), meant to be read again for
 * every verification so a rotation needs no restart: undefined when it has neither (or cannot be
 * listed); a problem when it has one without the other or either is invalid, so a broken trust
 * setup refuses every bundle instead of falling back to something weaker.
 */
export async function loadTrustDir(dir: string): Promise<TrustDir | { problem: string } | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  const policyFile = TRUST_POLICY_FILES.find((f) => names.includes(f));
  const hasKeyring = names.includes(DEFAULT_KEYRING_FILE);
  if (!policyFile && !hasKeyring) return undefined;
  if (!policyFile) return { problem: `${dir} has ${DEFAULT_KEYRING_FILE} but no ${TRUST_POLICY_FILES.join(' / ')}` };
  if (!hasKeyring) return { problem: `${dir} has ${policyFile} but no ${DEFAULT_KEYRING_FILE}` };
  try {
    return { keyring: await loadKeyring(join(dir, DEFAULT_KEYRING_FILE)), policy: await loadTrustPolicy(join(dir, policyFile)) };
  } catch (err) {
    return { problem: `the trust setup in ${dir} is invalid: ${errorMessage(err)}` };
  }
}
