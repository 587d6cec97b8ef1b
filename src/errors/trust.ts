/**
 * Errors of the trust layer. All are bad input (a damaged keyring, a policy that cannot be
 * applied, nothing to sign with): retrying cannot help. A bad or untrusted signature is never
 * an error here; `verifyJwsWithPolicy` reports it.
 */
import { BadInputError } from './base.js';

/** The keyring file is unreadable or invalid, or an add/revoke/save on it is refused. The message names the entry and field. */
export class KeyringError extends BadInputError {
  static override readonly code = 'KeyringError';
}

/** The trust policy file is unreadable or invalid. The message names the rule and field. */
export class TrustPolicyError extends BadInputError {
  static override readonly code = 'TrustPolicyError';
}

/** `signGeneralJwsMulti` was given no keys, or the same key twice. */
export class MultiSignError extends BadInputError {
  static override readonly code = 'MultiSignError';
}
