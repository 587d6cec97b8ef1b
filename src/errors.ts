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
  'ServingRejectedError',
  'ServingNotConfigured',
  'KeyringError',
  'TrustPolicyError',
  'MultiSignError',
] as const;

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
