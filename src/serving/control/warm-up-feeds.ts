import ort from 'onnxruntime-node';
import type { TensorSignature } from '../../release/types.js';

/** A zero-filled array of `count` elements per element type (float16 as its raw bits). */
const ZEROS: Record<string, (count: number) => ort.Tensor['data']> = {
  float32: (n) => new Float32Array(n),
  float64: (n) => new Float64Array(n),
  float16: (n) => new Uint16Array(n),
  int64: (n) => new BigInt64Array(n),
  uint64: (n) => new BigUint64Array(n),
  int32: (n) => new Int32Array(n),
  uint32: (n) => new Uint32Array(n),
  int16: (n) => new Int16Array(n),
  uint16: (n) => new Uint16Array(n),
  int8: (n) => new Int8Array(n),
  uint8: (n) => new Uint8Array(n),
  bool: (n) => new Uint8Array(n),
  string: (n) => new Array<string>(n).fill(''),
};

/**
 * Zero-filled feeds shaped from the signature (symbolic dims = 1, unknown rank = a 1-element
 * vector): the warm-up inference every model runs before it may serve.
 */
export function warmUpFeeds(inputs: readonly TensorSignature[]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const signature of inputs) {
    const dims = signature.shape.length ? signature.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1)) : [1];
    const zeros = ZEROS[signature.type];
    // Caught by the loader, which refuses the bundle with this as the detail.
    if (!zeros) throw new Error(`input ${signature.name}: type ${signature.type} is not supported by the serving runtime`);
    feeds[signature.name] = new ort.Tensor(signature.type as ort.Tensor.Type, zeros(dims.reduce((n, d) => n * d, 1)) as never, dims);
  }
  return feeds;
}
