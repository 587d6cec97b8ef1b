/**
 * Typed errors. Each carries a stable `type` (it becomes the ApplicationFailure type in
 * Temporal history, so the UI and retry policies can match on it) and says whether a retry
 * could help: bad input never gets better by retrying.
 */
export abstract class ModelshipError extends Error {
  abstract readonly type: string;
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input the release was given is wrong; retrying cannot help. */
abstract class BadInputError extends ModelshipError {
  readonly retryable = false;
}

export class ModelSourceError extends BadInputError {
  readonly type = 'ModelSourceError';
}
export class CorruptModelError extends BadInputError {
  readonly type = 'CorruptModelError';
}
export class ExporterError extends BadInputError {
  readonly type = 'ExporterError';
}
export class ExporterTimeoutError extends BadInputError {
  readonly type = 'ExporterTimeoutError';
}
export class BundleConflictError extends BadInputError {
  readonly type = 'BundleConflictError';
}
export class KeyNotFoundError extends BadInputError {
  readonly type = 'KeyNotFoundError';
}
export class WrongPassphraseError extends BadInputError {
  readonly type = 'WrongPassphraseError';
}
export class PassphraseMissingError extends BadInputError {
  readonly type = 'PassphraseMissingError';
}
export class InvalidKeyError extends BadInputError {
  readonly type = 'InvalidKeyError';
}
export class ManifestError extends BadInputError {
  readonly type = 'ManifestError';
}

/**
 * A model tensor keeps its data in a file that is not one of the bundle's own (absolute, `..`,
 * unlisted, or a byte range past its end). Refused before any engine loads the model, since
 * onnxruntime would read it from whatever folder it runs in. Names the tensor and the path.
 */
export class ExternalDataRefusedError extends BadInputError {
  readonly type = 'ExternalDataRefused';
  constructor(
    message: string,
    readonly reference: { readonly tensor: string; readonly where: string; readonly location?: string },
  ) {
    super(message);
  }
}

/** A reference that does not parse (`host/repo:tag@sha256:…` or `oci-layout:<dir>:tag`). */
export class ReferenceError extends BadInputError {
  readonly type = 'ReferenceError';
}
/** The registry refused our credentials (401/403). Names the registry, never the credential. */
export class RegistryAuthError extends BadInputError {
  readonly type = 'RegistryAuthError';
}
/** Bytes from a store do not have the digest they were asked for: tampering or corruption. */
export class DigestMismatchError extends BadInputError {
  readonly type = 'DigestMismatchError';
}
/** The artifact exists but is not a ModelPack model (or lacks a part a bundle needs). */
export class NotAModelError extends BadInputError {
  readonly type = 'NotAModelError';
}
/** A manifest, tag or blob the reference names is not in the store. */
export class ArtifactNotFoundError extends BadInputError {
  readonly type = 'ArtifactNotFoundError';
}
/** The registry answered something the distribution API does not allow. */
export class RegistryProtocolError extends BadInputError {
  readonly type = 'RegistryProtocolError';
}

/** The registry could not be reached or answered 5xx/429; a later attempt may succeed. */
export class RegistryUnavailableError extends ModelshipError {
  readonly type = 'RegistryUnavailableError';
  readonly retryable = true;
}

/** The filesystem or another dependency misbehaved; a later attempt may succeed. */
export class TransientIoError extends ModelshipError {
  readonly type = 'TransientIoError';
  readonly retryable = true;
}

/** Error types a retry policy must never retry. */
export const NON_RETRYABLE_ERROR_TYPES = [
  'ModelSourceError',
  'CorruptModelError',
  'ExporterError',
  'ExporterTimeoutError',
  'BundleConflictError',
  'KeyNotFoundError',
  'WrongPassphraseError',
  'PassphraseMissingError',
  'InvalidKeyError',
  'ManifestError',
  'ExternalDataRefused',
  'SmokeInputError',
  'SmokeFailed',
  'BundleVerificationFailed',
  'NativeInferenceError',
  'NativeRuntimeCrashed',
  'NativeMemoryLimit',
  'NativeTimeout',
  'SandboxTimeout',
  'SandboxMemoryLimit',
  'SandboxForbiddenImport',
  'SandboxInvalidModule',
  'SandboxTrap',
  'PluginError',
  'SandboxEngineError',
  'ServingRejectedError',
  'ServingNotConfigured',
  'KeyringError',
  'TrustPolicyError',
  'MultiSignError',
  'ReferenceError',
  'RegistryAuthError',
  'DigestMismatchError',
  'NotAModelError',
  'ArtifactNotFoundError',
  'RegistryProtocolError',
] as const;

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
