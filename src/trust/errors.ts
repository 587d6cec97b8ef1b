import { ModelshipError } from '../errors.js';

/**
 * Errors of the trust layer. All are bad input (a damaged keyring, a policy that cannot be
 * applied, nothing to sign with): retrying cannot help. A bad or untrusted signature is never
 * an error here; `verifyJwsWithPolicy` reports it.
 */

/** The keyring file is unreadable or invalid, or an add/revoke/save on it is refused. The message names the entry and field. */
export class KeyringError extends ModelshipError {
  readonly type = 'KeyringError';
  readonly retryable = false;
}

/** The trust policy file is unreadable or invalid. The message names the rule and field. */
export class TrustPolicyError extends ModelshipError {
  readonly type = 'TrustPolicyError';
  readonly retryable = false;
}

/** `signGeneralJwsMulti` was given no keys, or the same key twice. */
export class MultiSignError extends ModelshipError {
  readonly type = 'MultiSignError';
  readonly retryable = false;
}

/** The `type` of every error above, for NON_RETRYABLE_ERROR_TYPES. */
export const TRUST_ERROR_TYPES = ['KeyringError', 'TrustPolicyError', 'MultiSignError'] as const;
