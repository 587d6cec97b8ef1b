import { ModelshipError } from './base.js';

/** A failed check of a refused bundle, as bundle/verify.ts reports it. */
export interface RefusedCheck {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * Errors of the serving runtime. Those a request can cause carry the HTTP status the server
 * answers with; the admin client's errors say whether a retry could help (Temporal activities
 * use `code` (= `type`) and `retryable` like every other modelship error).
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
  static override readonly code = 'InvalidRequestError';
  static override readonly retryable = false;
  readonly status = 400;
}

/** 404: no model of that name. */
export class UnknownModelError extends ServingHttpError {
  static override readonly code = 'UnknownModelError';
  static override readonly retryable = false;
  readonly status = 404;
}

/** 404: the addressed version or forced slot holds no loaded model. */
export class TargetNotLoadedError extends ServingHttpError {
  static override readonly code = 'TargetNotLoadedError';
  static override readonly retryable = false;
  readonly status = 404;
}

/** 409: the request is well formed but does not fit the model's current state. */
export class ServingConflictError extends ServingHttpError {
  static override readonly code = 'ServingConflictError';
  static override readonly retryable = false;
  readonly status = 409;
}

/** 413: the body is larger than the limit. */
export class PayloadTooLargeError extends ServingHttpError {
  static override readonly code = 'PayloadTooLargeError';
  static override readonly retryable = false;
  readonly status = 413;
}

/** 422: the bundle does not verify against the trusted keys (or cannot be loaded and warmed). */
export class BundleRefusedError extends ServingHttpError {
  static override readonly code = 'BundleRefusedError';
  static override readonly retryable = false;
  readonly status = 422;
  readonly failedChecks: readonly RefusedCheck[];
  constructor(message: string, failedChecks: readonly RefusedCheck[]) {
    super(message, { failedChecks });
    this.failedChecks = failedChecks;
  }
}

/** 503: the model has no stable slot loaded. */
export class NoStableSlotError extends ServingHttpError {
  static override readonly code = 'NoStableSlotError';
  static override readonly retryable = true;
  readonly status = 503;
}

/** 500: onnxruntime failed while running a request that passed validation. */
export class InferenceFailedError extends ServingHttpError {
  static override readonly code = 'InferenceFailedError';
  static override readonly retryable = false;
  readonly status = 500;
}

/** 503: the bundle store (registry) cannot be reached now: the slot keeps what it serves; the deploy may be retried. */
export class BundleStoreUnavailableError extends ServingHttpError {
  static override readonly code = 'BundleStoreUnavailable';
  static override readonly retryable = true;
  readonly status = 503;
}

/** 500: the new state could not be written; nothing was changed. */
export class StatePersistError extends ServingHttpError {
  static override readonly code = 'StatePersistError';
  static override readonly retryable = true;
  readonly status = 500;
}

/** The runtime cannot start with this configuration (missing secret, corrupt state file, ...). */
export class ServingConfigError extends ModelshipError {
  static override readonly code = 'ServingConfigError';
  static override readonly retryable = false;
}

/** Admin client: the server could not be reached, or answered 5xx / 429. A later attempt may succeed. */
export class ServingUnavailableError extends ModelshipError {
  static override readonly code = 'ServingUnavailableError';
  static override readonly retryable = true;
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
  }
}

/** Admin client: the server refused the request (4xx) and said why; retrying the same request cannot help. */
export class ServingRejectedError extends ModelshipError {
  static override readonly code = 'ServingRejectedError';
  static override readonly retryable = false;
  readonly status: number;
  /** The server's whole JSON answer (e.g. `failedChecks` for a refused bundle). */
  readonly body: unknown;
  constructor(message: string, status: number, body: unknown) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** 405: the path exists, the method does not. */
export class MethodNotAllowedError extends ServingHttpError {
  static override readonly code = 'MethodNotAllowed';
  static override readonly retryable = false;
  readonly status = 405;
}

/** 404: no route matches the path. */
export class NoRouteError extends ServingHttpError {
  static override readonly code = 'NoRoute';
  static override readonly retryable = false;
  readonly status = 404;
}

/** Open Inference Protocol: the server or model is not ready (503, or 404 for an unknown model). */
export class NotReadyError extends ServingHttpError {
  static override readonly code = 'NotReady';
  static override readonly retryable = true;
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

/** 415: the request's content encoding is not one the server takes. */
export class UnsupportedEncodingError extends ServingHttpError {
  static override readonly code = 'UnsupportedEncoding';
  static override readonly retryable = false;
  readonly status = 415;
}
