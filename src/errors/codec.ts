/**
 * Errors of the payload codec. Messages name key ids, never key bytes. A worker that lacks a
 * key is a deployment problem: another worker, or this one redeployed with the key, can still
 * decode, so the key errors are retryable (the release waits rather than failing for good).
 */
import { ModelshipError } from './base.js';

/** The codec key configuration (file or environment) is missing, unreadable or malformed. */
export class CodecConfigError extends ModelshipError {
  static override readonly code = 'CodecConfigError';
  static override readonly retryable = false;
}

/** A payload was encrypted with a key id this process has no key for. */
export class CodecKeyUnknownError extends ModelshipError {
  static override readonly code = 'CodecKeyUnknownError';
  static override readonly retryable = true;
  constructor(
    readonly keyId: string,
    message: string,
  ) {
    super(message);
  }
}

/** The key configured under the payload's key id does not decrypt it (wrong key, or tampered bytes). */
export class CodecDecryptError extends ModelshipError {
  static override readonly code = 'CodecDecryptError';
  static override readonly retryable = true;
  constructor(
    readonly keyId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An encrypted payload reached a process that has no codec keys configured at all. */
export class CodecKeysMissingError extends ModelshipError {
  static override readonly code = 'CodecKeysMissingError';
  static override readonly retryable = true;
  constructor(
    readonly keyId: string,
    message: string,
  ) {
    super(message);
  }
}
