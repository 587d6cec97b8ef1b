/** The OCI bundle store and registry client. Only an unreachable registry is retryable. */
import { BadInputError, ModelshipError } from './base.js';

/** A reference that does not parse (`host/repo:tag@sha256:…` or `oci-layout:<dir>:tag`). */
export class ReferenceError extends BadInputError {
  static override readonly code = 'ReferenceError';
}
/** The registry refused our credentials (401/403). Names the registry, never the credential. */
export class RegistryAuthError extends BadInputError {
  static override readonly code = 'RegistryAuthError';
}
/** Bytes from a store do not have the digest they were asked for: tampering or corruption. */
export class DigestMismatchError extends BadInputError {
  static override readonly code = 'DigestMismatchError';
}
/** The artifact exists but is not a ModelPack model (or lacks a part a bundle needs). */
export class NotAModelError extends BadInputError {
  static override readonly code = 'NotAModelError';
}
/** A manifest, tag or blob the reference names is not in the store. */
export class ArtifactNotFoundError extends BadInputError {
  static override readonly code = 'ArtifactNotFoundError';
}
/** The registry answered something the distribution API does not allow. */
export class RegistryProtocolError extends BadInputError {
  static override readonly code = 'RegistryProtocolError';
}

/** The registry could not be reached or answered 5xx/429; a later attempt may succeed. */
export class RegistryUnavailableError extends ModelshipError {
  static override readonly code = 'RegistryUnavailableError';
  static override readonly retryable = true;
}
/**
 * TLS with the registry cannot work as configured: its certificate is not trusted (a private CA
 * not given), not valid for its name, or one side speaks plain HTTP. Retrying cannot help.
 */
export class RegistryTlsError extends BadInputError {
  static override readonly code = 'RegistryTlsError';
}
