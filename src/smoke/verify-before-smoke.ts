import type { Manifest } from '../bundle/manifest.js';
import { openBundle, type VerifiedExternalData } from '../bundle/verify.js';
import type { SigningKey } from '../crypto/keys.js';
import { sha256Hex } from '../hashing/stream-hash.js';
import type { SmokeVerification } from '../release/types.js';
import { resolveTrust, type TrustSource } from '../trust/trust-source.js';
import { BundleVerificationFailedError, type FailedVerification } from '../errors/index.js';
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
  /** The model file's bytes, as read and hashed during verification (never read again). */
  readonly model: Buffer;
  /** Its external data, likewise; or why it may not be used. */
  readonly externalData: VerifiedExternalData;
}

/** The trust source the smoke stage verifies under: the worker's trust folder when it has one, else the release's own keys. */
export function smokeTrustSource(source: SmokeTrust): TrustSource {
  return source.trustedKeysDir
    ? { kind: 'worker-trust-dir', dir: source.trustedKeysDir }
    : { kind: 'release-keys', signingKeyPath: source.signingKeyPath, signers: source.signers };
}

/**
 * Verifies a bundle before the smoke stage runs anything from it: manifest, every file, root
 * digest, model.jws under the trust policy, and the provenance attestation (`openBundle` without
 * the smoke check: that attestation is what smoke writes). Under the worker's trust folder when
 * it has one (read again each time, like the serving runtime's, so rotations need no restart),
 * else under the release's own keys. Returns the signed manifest and the model bytes to run, as
 * verified. Throws BundleVerificationFailedError naming every failing check, or TrustPolicyError
 * when the trust folder is unusable.
 */
export async function verifyBeforeSmoke(bundleDir: string, source: SmokeTrust): Promise<VerifiedForSmoke> {
  const at = new Date();
  const mode: SmokeVerification['mode'] = source.trustedKeysDir ? 'trust-policy' : 'release-keys';
  const trust = await resolveTrust(smokeTrustSource(source), at);
  const { report, verified } = await openBundle(bundleDir, trust, { smokeAttestation: false, keepExternalData: true });
  const base = { mode, trustSource: trust.source, at: at.toISOString(), ...policyFigures(report.policy) };
  if (!verified) {
    const failedChecks: FailedVerification['failedChecks'] = report.checks.filter((c) => !c.ok).map((c) => ({ check: c.check, detail: c.detail }));
    throw new BundleVerificationFailedError(bundleDir, { ...base, failedChecks });
  }
  const { manifest, manifestBytes, model } = verified;
  return {
    manifest,
    model,
    externalData: verified.externalData ?? { files: [] },
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
