import { BadInputError } from './base.js';

/** How the onnxruntime child process ended without answering. */
export type NativeFailureKind = 'crashed' | 'memory' | 'timeout';

/**
 * onnxruntime's child process crashed (a signal or an abort), ran past its memory ceiling, or
 * past its deadline: one class per kind below. The worker is unaffected; the same model and
 * inputs would fail the same way, so this is never retried. The message says what happened and
 * which limit to raise. `nativeRuntimeFailure(kind, message)` makes the right one.
 */
export abstract class NativeRuntimeFailure extends BadInputError {
  abstract readonly kind: NativeFailureKind;
}
export class NativeRuntimeCrashedError extends NativeRuntimeFailure {
  static override readonly code = 'NativeRuntimeCrashed';
  readonly kind = 'crashed';
}
export class NativeMemoryLimitError extends NativeRuntimeFailure {
  static override readonly code = 'NativeMemoryLimit';
  readonly kind = 'memory';
}
export class NativeTimeoutError extends NativeRuntimeFailure {
  static override readonly code = 'NativeTimeout';
  readonly kind = 'timeout';
}

const BY_KIND = { crashed: NativeRuntimeCrashedError, memory: NativeMemoryLimitError, timeout: NativeTimeoutError } as const satisfies Record<NativeFailureKind, unknown>;

export function nativeRuntimeFailure(kind: NativeFailureKind, message: string): NativeRuntimeFailure {
  return new BY_KIND[kind](message);
}
