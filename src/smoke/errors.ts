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
