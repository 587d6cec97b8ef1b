// Tensors: a data type (ONNX TensorProto.DataType code), i32 dims and raw little-endian bytes.
// Tensors are immutable once built, so ops may share buffers (Reshape, Identity, ...).
import { failed, modelError } from "./errors";

export const FLOAT: i32 = 1;
export const UINT8: i32 = 2;
export const INT8: i32 = 3;
export const INT32: i32 = 6;
export const INT64: i32 = 7;
export const BOOL: i32 = 9;
export const DOUBLE: i32 = 11;

/** Largest tensor the engine will allocate (linear memory is capped at 256 MiB). */
export const MAX_TENSOR_BYTES: i64 = 192 * 1024 * 1024;
/** Largest rank accepted anywhere. */
export const MAX_RANK: i32 = 32;

const TYPE_NAMES: StaticArray<string> = [
  "undefined", "float32", "uint8", "int8", "uint16", "int16", "int32", "int64", "string", "bool",
  "float16", "float64", "uint32", "uint64", "complex64", "complex128", "bfloat16",
  "float8e4m3fn", "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz", "uint4", "int4", "float4e2m1",
];

export function typeName(t: i32): string {
  if (t >= 0 && t < TYPE_NAMES.length) return unchecked(TYPE_NAMES[t]);
  return "type " + t.toString();
}

/** Bytes per element of the data types the engine can hold, or 0 for any other type. */
export function elementSize(t: i32): i32 {
  if (t == FLOAT || t == INT32) return 4;
  if (t == INT64 || t == DOUBLE) return 8;
  if (t == UINT8 || t == INT8 || t == BOOL) return 1;
  return 0;
}

export function dimsToString(dims: Array<i32>): string {
  let s = "[";
  for (let i = 0; i < dims.length; i++) {
    if (i > 0) s += ",";
    s += unchecked(dims[i]).toString();
  }
  return s + "]";
}

/**
 * Products of dims are computed in i32 throughout the engine. Requiring the product of the
 * non-zero dims to fit keeps every partial product in range even for empty tensors.
 */
export function shapeFitsI32(nonZeroProduct: i64): bool {
  return nonZeroProduct <= 0x7fffffff;
}

/** Element count of dims, or -1 (with a model error) when it exceeds the engine's limits. */
export function checkedCount(dims: Array<i32>, elemSize: i32, what: string): i32 {
  let n: i64 = 1;
  let nonZero: i64 = 1;
  for (let i = 0; i < dims.length; i++) {
    const d = unchecked(dims[i]);
    if (d < 0) {
      modelError(what + " has negative dimension " + d.toString());
      return -1;
    }
    n *= <i64>d;
    if (d > 0) nonZero *= <i64>d;
    if (!shapeFitsI32(nonZero)) {
      modelError(what + " with shape " + dimsToString(dims) + " has too many elements");
      return -1;
    }
    if (n * <i64>elemSize > MAX_TENSOR_BYTES) {
      modelError(what + " with shape " + dimsToString(dims) + " exceeds the engine's " + (MAX_TENSOR_BYTES >> 20).toString() + " MiB tensor limit");
      return -1;
    }
  }
  return <i32>n;
}

export class Tensor {
  dtype: i32;
  dims: Array<i32>;
  size: i32;
  data: ArrayBuffer;

  constructor(dtype: i32, dims: Array<i32>, size: i32, data: ArrayBuffer) {
    this.dtype = dtype;
    this.dims = dims;
    this.size = size;
    this.data = data;
  }

  /** Bytes of element data (the buffer may be longer). */
  get byteLength(): i32 {
    return this.size * elementSize(this.dtype);
  }

  get rank(): i32 {
    return this.dims.length;
  }

  @inline get ptr(): usize {
    return changetype<usize>(this.data);
  }

  dim(i: i32): i32 {
    return this.dims[i];
  }

  /** Same data, new shape (caller checked the element count). */
  reshaped(dims: Array<i32>): Tensor {
    return new Tensor(this.dtype, dims, this.size, this.data);
  }

  getF32(i: i32): f32 {
    return load<f32>(this.ptr + (<usize>i << 2));
  }

  getI64(i: i32): i64 {
    return load<i64>(this.ptr + (<usize>i << 3));
  }
}

// ---- buffer pool ----
// AssemblyScript's TLSF allocator rounds every request up to the next size class before
// searching, so a freed block never satisfies a request of its own size: a chain of equally
// sized large tensors would keep growing memory. The engine therefore recycles large tensor
// buffers itself: it reference-counts the buffers held in its value table and hands a buffer
// back here when its last value is dropped; allocBuffer reuses it for a request of the same
// (rounded) size. The pool lives for one run.

const POOL_MIN: i32 = 65536;
let pool = new Map<i32, Array<ArrayBuffer>>();
let owned = new Set<usize>();

export function resetPool(): void {
  pool = new Map<i32, Array<ArrayBuffer>>();
  owned = new Set<usize>();
}

/** Large sizes are rounded up (by at most 1/16) so that similar sizes share pool slots. */
function roundedSize(bytes: i32): i32 {
  if (bytes < POOL_MIN) return bytes;
  const step: u64 = (<u64>1) << (63 - clz<u64>(<u64>bytes) - 4);
  return <i32>min<u64>((<u64>bytes + step - 1) & ~(step - 1), 0x7ffffff0);
}

/** A zeroed buffer of at least `bytes` bytes. */
export function allocBuffer(bytes: i32): ArrayBuffer {
  const size = roundedSize(bytes);
  if (size < POOL_MIN) return new ArrayBuffer(size);
  if (pool.has(size)) {
    const list = pool.get(size);
    if (list.length > 0) {
      const b = list.pop();
      memory.fill(changetype<usize>(b), 0, <usize>size);
      return b;
    }
  }
  const b = new ArrayBuffer(size);
  owned.add(changetype<usize>(b));
  return b;
}

/** Hands back a buffer that no live tensor uses any more (ignored unless allocBuffer made it). */
export function releaseBuffer(b: ArrayBuffer): void {
  const p = changetype<usize>(b);
  if (!owned.has(p)) return;
  const size = b.byteLength;
  if (!pool.has(size)) pool.set(size, new Array<ArrayBuffer>());
  pool.get(size).push(b);
}

/** A new zero-filled tensor, or null (with a model error) if it is too large. */
export function newTensor(dtype: i32, dims: Array<i32>, what: string): Tensor | null {
  const es = elementSize(dtype);
  const n = checkedCount(dims, es, what);
  if (n < 0 || failed()) return null;
  return new Tensor(dtype, dims, n, allocBuffer(n * es));
}

/** Advances a row-major multi-index over dims[0..last] (an odometer); after the last index it wraps to zeros. */
export function nextIndex<T>(idx: T, dims: Array<i32>, last: i32): void {
  for (let d = last; d >= 0; d--) {
    const v = idx[d] + 1;
    if (v < dims[d]) {
      idx[d] = v;
      return;
    }
    idx[d] = 0;
  }
}

export function product(dims: Array<i32>, from: i32, to: i32): i32 {
  let n = 1;
  for (let i = from; i < to; i++) n *= unchecked(dims[i]);
  return n;
}
