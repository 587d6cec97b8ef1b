// A leaf module (no imports), so the error module can name the type without importing release/types.

/**
 * How the smoke stage verified the bundle before running it (`verifyBundle` without the smoke
 * attestation, which it is about to write). Signed into the smoke Test Result too.
 */
export interface SmokeVerification {
  /** `trust-policy`: the worker's MODELSHIP_TRUSTED_KEYS_DIR; `release-keys`: the release's own signing keys (no trust folder on the worker). */
  readonly mode: 'trust-policy' | 'release-keys';
  /** The trust folder, or the keyring / signing key the release keys came from. */
  readonly trustSource: string;
  /** When key validity and revocation were judged. */
  readonly at: string;
  /** The checks that ran, all passed (a failure fails the stage with BundleVerificationFailed). */
  readonly checks: readonly string[];
  readonly rootDigest: string;
  /** SHA-256 of the model.yaml bytes the signatures cover; smoke used exactly these. */
  readonly manifestSha256: string;
  /** The policy rule applied, e.g. `rules[0] (fraud-*)`. */
  readonly rule: string;
  readonly threshold: number;
  readonly counted: number;
  readonly countedKids: readonly string[];
  readonly signatures: ReadonlyArray<{ readonly kid: string | null; readonly status: string; readonly reason?: string }>;
}
