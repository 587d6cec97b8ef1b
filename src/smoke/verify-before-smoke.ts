import { resolve } from 'node:path';
import { readVerifiedModelFile } from '../bundle/model-file.js';
import { parseManifest, type Manifest } from '../bundle/manifest.js';
import { verifyBundle } from '../bundle/verify.js';
import type { SigningKey } from '../crypto/keys.js';
import { sha256Hex } from '../hashing/stream-hash.js';
import type { SmokeVerification } from '../release/types.js';
import { DEFAULT_KEYRING_FILE } from '../trust/keyring.js';
import { BundleVerificationFailedError, type FailedVerification, TrustPolicyError } from '../errors/index.js';
import { releaseKeysTrust } from '../trust/release-keys-trust.js';
import { loadTrustDir, TRUST_POLICY_FILES, type TrustDir } from '../trust/trust-dir.js';
import type { PolicyVerification } from '../trust/verify-with-policy.js';

export interface SmokeTrust {
  /** The worker's trust folder (MODELSHIP_TRUSTED_KEYS_DIR): keyring.json and a trust policy. */
  readonly trustedKeysDir?: string | undefined;
  /** Without one: the release's signing key and its signers (`loadReleaseSigners`). */
  readonly signingKeyPath: string;
  readonly signers: readonly SigningKey[];
}

export interface VerifiedForSmoke {
  readonly verification: SmokeVerification;
  /** Parsed from the very bytes the signatures cover, not re-read from disk. */
  readonly manifest: Manifest;
  /** The model file's bytes, read after the checks and matched against the signed manifest. */
  readonly model: Buffer;
}

/**
 * Verifies a bundle before the smoke stage runs anything from it: manifest, every file, root
 * digest, model.jws under the trust policy, and the provenance attestation (`verifyBundle`
 * without the smoke check: that attestation is what smoke writes). Under the worker's trust
 * folder when it has one (read again each time, like the serving runtime's, so rotations need no
 * restart), else under the release's own keys. Returns the signed manifest and the model bytes
 * to run. Throws BundleVerificationFailedError naming every failing check, or TrustPolicyError
 * when the trust folder is unusable.
 */
export async function verifyBeforeSmoke(bundleDir: string, source: SmokeTrust): Promise<VerifiedForSmoke> {
  const at = new Date();
  let trust: TrustDir;
  let trustSource: string;
  const mode: SmokeVerification['mode'] = source.trustedKeysDir ? 'trust-policy' : 'release-keys';
  if (source.trustedKeysDir) {
    const loaded = await loadTrustDir(source.trustedKeysDir);
    if (!loaded) {
      throw new TrustPolicyError(
        `the worker's trust folder MODELSHIP_TRUSTED_KEYS_DIR=${source.trustedKeysDir} holds no ${DEFAULT_KEYRING_FILE} and ${TRUST_POLICY_FILES[0]} (or cannot be read): put both there, or unset it to verify against the release's own keys`,
      );
    }
    if ('problem' in loaded) throw new TrustPolicyError(`the worker's trust folder (MODELSHIP_TRUSTED_KEYS_DIR) is unusable: ${loaded.problem}`);
    trust = loaded;
    trustSource = resolve(source.trustedKeysDir);
  } else {
    const own = await releaseKeysTrust(source.signingKeyPath, source.signers);
    trust = own;
    trustSource = own.source;
  }

  const report = await verifyBundle(bundleDir, { ...trust, at }, { smokeAttestation: false });
  const base = { mode, trustSource, at: at.toISOString(), ...policyFigures(report.policy) };
  const fail = (failedChecks: FailedVerification['failedChecks']): never => {
    throw new BundleVerificationFailedError(bundleDir, { ...base, failedChecks });
  };
  if (!report.ok) fail(report.checks.filter((c) => !c.ok).map((c) => ({ check: c.check, detail: c.detail })));
  // ok means the signatures cover exactly the model.yaml the checks read: use those bytes, and
  // read the model once more and hash it against them, so a file swapped in after the check is caught.
  const manifestBytes = report.policy!.payload!;
  const manifest = parseManifest(manifestBytes.toString('utf8'));
  const model = await readVerifiedModelFile(bundleDir, manifest);
  if (!model) fail([{ check: 'files', detail: `model/${manifest.modelFile} changed after it was verified` }]);
  return {
    manifest,
    model: model!,
    verification: { ...base, checks: report.checks.map((c) => c.check), rootDigest: manifest.digest.root, manifestSha256: sha256Hex(manifestBytes) },
  };
}

function policyFigures(policy: PolicyVerification | undefined): Pick<SmokeVerification, 'rule' | 'threshold' | 'counted' | 'countedKids' | 'signatures'> {
  return {
    rule: policy?.rule ?? (policy ? `no rule for ${policy.modelName}` : 'not reached: model.yaml or model.jws unreadable'),
    threshold: policy?.threshold ?? 0,
    counted: policy?.counted ?? 0,
    countedKids: [...(policy?.countedKids ?? [])],
    signatures: (policy?.signatures ?? []).map((s) => ({ kid: s.kid ?? null, status: s.status, ...(s.status === 'valid' ? {} : { reason: s.reason }) })),
  };
}
