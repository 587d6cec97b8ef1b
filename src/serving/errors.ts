import { ModelshipError } from '../errors.js';
import type { CheckResult } from '../bundle/verify.js';

/**
 * Errors of the serving runtime. Those a request can cause carry the HTTP status the server
 * answers with; the admin client's errors say whether a retry could help (Temporal activities
 * use `type` and `retryable` like every other modelship error).
 */
export abstract class ServingHttpError extends ModelshipError {
  abstract readonly status: number;
  /** Extra JSON members of the error response (e.g. the failing checks of a refused bundle). */
  readonly details: Record<string, unknown> | undefined;
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.details = details;
  }
}

/** 400: the request is malformed; the message says what and where. */
export class InvalidRequestError extends ServingHttpError {
  readonly type = 'InvalidRequestError';
  readonly retryable = false;
  readonly status = 400;
}

/** 404: no model of that name. */
export class UnknownModelError extends ServingHttpError {
  readonly type = 'UnknownModelError';
  readonly retryable = false;
  readonly status = 404;
}

/** 404: the addressed version or forced slot holds no loaded model. */
export class TargetNotLoadedError extends ServingHttpError {
  readonly type = 'TargetNotLoadedError';
  readonly retryable = false;
  readonly status = 404;
}

/** 409: the request is well formed but does not fit the model's current state. */
export class ServingConflictError extends ServingHttpError {
  readonly type = 'ServingConflictError';
  readonly retryable = false;
  readonly status = 409;
}

/** 413: the body is larger than the limit. */
export class PayloadTooLargeError extends ServingHttpError {
  readonly type = 'PayloadTooLargeError';
  readonly retryable = false;
  readonly status = 413;
}

/** 422: the bundle does not verify against the trusted keys (or cannot be loaded and warmed). */
export class BundleRefusedError extends ServingHttpError {
  readonly type = 'BundleRefusedError';
  readonly retryable = false;
  readonly status = 422;
  readonly failedChecks: readonly CheckResult[];
  constructor(message: string, failedChecks: readonly CheckResult[]) {
    super(message, { failedChecks });
    this.failedChecks = failedChecks;
  }
}

/** 503: the model has no stable slot loaded. */
export class NoStableSlotError extends ServingHttpError {
  readonly type = 'NoStableSlotError';
  readonly retryable = true;
  readonly status = 503;
}

/** 500: onnxruntime failed while running a request that passed validation. */
export class InferenceFailedError extends ServingHttpError {
  readonly type = 'InferenceFailedError';
  readonly retryable = false;
  readonly status = 500;
}

/** 500: the new state could not be written; nothing was changed. */
/** The bundle store (registry) cannot be reached now: the slot keeps what it serves; the deploy may be retried. */
export class BundleStoreUnavailableError extends ServingHttpError {
  readonly type = 'BundleStoreUnavailable';
  readonly retryable = true;
  readonly status = 503;
}

export class StatePersistError extends ServingHttpError {
  readonly type = 'StatePersistError';
  readonly retryable = true;
  readonly status = 500;
}

/** The runtime cannot start with this configuration (missing secret, corrupt state file, ...). */
export class ServingConfigError extends ModelshipError {
  readonly type = 'ServingConfigError';
  readonly retryable = false;
}

/** Admin client: the server could not be reached, or answered 5xx / 429. A later attempt may succeed. */
export class ServingUnavailableError extends ModelshipError {
  readonly type = 'ServingUnavailableError';
  readonly retryable = true;
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
  }
}

/** Admin client: the server refused the request (4xx) and said why; retrying the same request cannot help. */
export class ServingRejectedError extends ModelshipError {
  readonly type = 'ServingRejectedError';
  readonly retryable = false;
  readonly status: number;
  /** The server's whole JSON answer (e.g. `failedChecks` for a refused bundle). */
  readonly body: unknown;
  constructor(message: string, status: number, body: unknown) {
    super(message);
    this.status = status;
    this.body = body;
  }
}
