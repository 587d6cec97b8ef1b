/** The release's own input (the model, the exporter, the signing key, the manifest: none retryable), and a transient I/O failure. */
import { BadInputError, ModelshipError } from './base.js';

export class ModelSourceError extends BadInputError {
  static override readonly code = 'ModelSourceError';
}
export class CorruptModelError extends BadInputError {
  static override readonly code = 'CorruptModelError';
}
export class ExporterError extends BadInputError {
  static override readonly code = 'ExporterError';
}
export class ExporterTimeoutError extends BadInputError {
  static override readonly code = 'ExporterTimeoutError';
}
export class BundleConflictError extends BadInputError {
  static override readonly code = 'BundleConflictError';
}
export class KeyNotFoundError extends BadInputError {
  static override readonly code = 'KeyNotFoundError';
}
export class WrongPassphraseError extends BadInputError {
  static override readonly code = 'WrongPassphraseError';
}
export class PassphraseMissingError extends BadInputError {
  static override readonly code = 'PassphraseMissingError';
}
export class InvalidKeyError extends BadInputError {
  static override readonly code = 'InvalidKeyError';
}
export class ManifestError extends BadInputError {
  static override readonly code = 'ManifestError';
}

/**
 * A model tensor keeps its data in a file that is not one of the bundle's own (absolute, `..`,
 * unlisted, or a byte range past its end). Refused before any engine loads the model, since
 * onnxruntime would read it from whatever folder it runs in. Names the tensor and the path.
 */
export class ExternalDataRefusedError extends BadInputError {
  static override readonly code = 'ExternalDataRefused';
  constructor(
    message: string,
    readonly reference: { readonly tensor: string; readonly where: string; readonly location?: string },
  ) {
    super(message);
  }
}

/** The filesystem or another dependency misbehaved; a later attempt may succeed. */
export class TransientIoError extends ModelshipError {
  static override readonly code = 'TransientIoError';
  static override readonly retryable = true;
}
