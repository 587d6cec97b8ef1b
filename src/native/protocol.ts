/**
 * What the worker and its onnxruntime child process say to each other (one request, one reply,
 * over the IPC channel with structured-clone serialization, so tensor bytes are not re-encoded).
 */
import type { TensorSignature } from '../release/types.js';

/** A tensor as raw little-endian bytes; `type` in onnxruntime's spelling (float32, int64, …). */
export interface NativeTensor {
  readonly name: string;
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

export type NativeRequest = (
  /** Load the model (proving it parses) and report its I/O signature. */
  | { readonly op: 'inspect'; readonly model: Uint8Array }
  /** Load the model and run it once on these inputs; outputs in the graph's output order. */
  | { readonly op: 'run'; readonly model: Uint8Array; readonly inputs: readonly NativeTensor[] }
) & {
  /**
   * The folder onnxruntime reads external data from (the model file's folder in the bundle),
   * instead of the process's working directory, which it uses for a model loaded from bytes.
   */
  readonly externalDataDir?: string;
  /** The external data's bytes, keyed by location (a verified bundle's): then nothing is read from disk. */
  readonly externalData?: readonly { readonly path: string; readonly data: Uint8Array }[];
};

export interface NativeSignature {
  readonly inputs: readonly TensorSignature[];
  readonly outputs: readonly TensorSignature[];
}

/** Where onnxruntime refused: loading the model, converting an input or output, or running it. */
export type NativeFailurePhase = 'load' | 'input' | 'run' | 'output';

export type NativeReply =
  | { readonly ok: true; readonly op: 'inspect'; readonly signature: NativeSignature }
  | { readonly ok: true; readonly op: 'run'; readonly outputs: readonly NativeTensor[] }
  | { readonly ok: false; readonly phase: NativeFailurePhase; readonly message: string };
