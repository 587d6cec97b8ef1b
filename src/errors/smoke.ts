/** The smoke stage: bad smoke inputs, unacceptable outputs, a bundle that does not verify. None is retryable. */
import type { SmokeVerification } from '../release/smoke-verification.js';
import { BadInputError } from './base.js';

export class SmokeInputError extends BadInputError {
  static override readonly code = 'SmokeInputError';
}

/** The model ran but its outputs are not acceptable; the message carries the figures. */
export class SmokeFailedError extends BadInputError {
  static override readonly code = 'SmokeFailed';
}

export class NativeInferenceError extends BadInputError {
  static override readonly code = 'NativeInferenceError';
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
export class BundleVerificationFailedError extends BadInputError {
  static override readonly code = 'BundleVerificationFailed';
  readonly verification: FailedVerification;
  constructor(bundleDir: string, verification: FailedVerification) {
    super(
      `bundle ${bundleDir} failed verification (${verification.mode}: ${verification.trustSource}), so no inference ran: ` +
        verification.failedChecks.map((c) => `${c.check}: ${c.detail}`).join('; '),
    );
    this.verification = verification;
  }
}
