import { ModelshipError } from '../errors.js';

/** How the onnxruntime child process ended without answering. */
export type NativeFailureKind = 'crashed' | 'memory' | 'timeout';

const TYPES = { crashed: 'NativeRuntimeCrashed', memory: 'NativeMemoryLimit', timeout: 'NativeTimeout' } as const satisfies Record<NativeFailureKind, string>;

/**
 * onnxruntime's child process crashed (a signal or an abort), ran past its memory ceiling, or
 * past its deadline. The worker is unaffected; the same model and inputs would fail the same way,
 * so this is never retried. The message says what happened and which limit to raise.
 */
export class NativeRuntimeFailure extends ModelshipError {
  readonly retryable = false;
  readonly type: (typeof TYPES)[NativeFailureKind];
  constructor(
    readonly kind: NativeFailureKind,
    message: string,
  ) {
    super(message);
    this.type = TYPES[kind];
  }
}

export const NATIVE_FAILURE_TYPES = Object.values(TYPES);
