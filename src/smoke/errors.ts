import type { SmokeVerification } from '../release/types.js';
import { ModelshipError } from '../errors.js';

export class SmokeInputError extends ModelshipError {
  readonly type = 'SmokeInputError';
  readonly retryable = false;
}

/** The model ran but its outputs are not acceptable; the message carries the figures. */
export class SmokeFailedError extends ModelshipError {
  readonly type = 'SmokeFailed';
  readonly retryable = false;
}

export class NativeInferenceError extends ModelshipError {
  readonly type = 'NativeInferenceError';
  readonly retryable = false;
}

/** What a failed pre-smoke verification found: every failing check, and the trust it was judged under. */
export type FailedVerification = Pick<SmokeVerification, 'mode' | 'trustSource' | 'at' | 'rule' | 'threshold' | 'counted' | 'countedKids' | 'signatures'> & {
  readonly failedChecks: ReadonlyArray<{ readonly check: string; readonly detail: string }>;
};

/**
 * The bundle did not verify before the smoke stage ran it: a file, the manifest, a signature or
 * the provenance is not what was signed, or the signers are not trusted. No inference ran; the
 * message names every failing check. Re-release from a clean source, or fix the trust setup.
 */
export class BundleVerificationFailedError extends ModelshipError {
  readonly type = 'BundleVerificationFailed';
  readonly retryable = false;
  readonly verification: FailedVerification;
  constructor(bundleDir: string, verification: FailedVerification) {
    super(
      `bundle ${bundleDir} failed verification (${verification.mode}: ${verification.trustSource}), so no inference ran: ` +
        verification.failedChecks.map((c) => `${c.check}: ${c.detail}`).join('; '),
    );
    this.verification = verification;
  }
}
