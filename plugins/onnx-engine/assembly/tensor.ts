// Tensors: a data type (ONNX TensorProto.DataType code), i32 dims and raw little-endian bytes.
// Tensors are immutable once built, so ops may share buffers (Reshape, Identity, ...).
//
// Element types: every numeric ONNX type up to 64 bits plus bool. Ops that handle any type
// read and write elements through Tensor.loadF64/storeF64 (float family, and integers as
// values) and Tensor.loadI64/storeI64 (integer family, exact; uint64 as its bit pattern).
// `typeClass` picks the arithmetic: float types compute in f64 and round once on store
// (float16 to nearest even), integer types in i64 and wrap to their width on store.
import { failed, modelError } from "./errors";
import { f64ToHalf, halfToF32 } from "./half";

export const FLOAT: i32 = 1;
export const UINT8: i32 = 2;
export const INT8: i32 = 3;
export const UINT16: i32 = 4;
export const INT16: i32 = 5;
export const INT32: i32 = 6;
export const INT64: i32 = 7;
export const BOOL: i32 = 9;
export const FLOAT16: i32 = 10;
export const DOUBLE: i32 = 11;
export const UINT32: i32 = 12;
export const UINT64: i32 = 13;

/** Arithmetic families (typeClass). */
export const CLASS_NONE: i32 = 0;
export const CLASS_FLOAT: i32 = 1;
export const CLASS_SIGNED: i32 = 2;
export const CLASS_UNSIGNED: i32 = 3;
export const CLASS_BOOL: i32 = 4;

export function typeClass(t: i32): i32 {
  switch (t) {
    case FLOAT: case DOUBLE: case FLOAT16: return CLASS_FLOAT;
    case INT8: case INT16: case INT32: case INT64: return CLASS_SIGNED;
    case UINT8: case UINT16: case UINT32: case UINT64: return CLASS_UNSIGNED;
    case BOOL: return CLASS_BOOL;
  }
  return CLASS_NONE;
}

@inline export function isFloatType(t: i32): bool {
  return t == FLOAT || t == DOUBLE || t == FLOAT16;
}

/** Signed or unsigned integer (not bool). */
@inline export function isIntegerType(t: i32): bool {
  const c = typeClass(t);
  return c == CLASS_SIGNED || c == CLASS_UNSIGNED;
}

/** Float or integer (not bool). */
@inline export function isNumericType(t: i32): bool {
  const c = typeClass(t);
  return c == CLASS_FLOAT || c == CLASS_SIGNED || c == CLASS_UNSIGNED;
}

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
  switch (t) {
    case UINT8: case INT8: case BOOL: return 1;
    case UINT16: case INT16: case FLOAT16: return 2;
    case FLOAT: case INT32: case UINT32: return 4;
    case INT64: case DOUBLE: case UINT64: return 8;
  }
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

  /** Element i of any numeric or bool type as f64 (uint64 and int64 round above 2^53). */
  loadF64(i: i32): f64 {
    const p = this.ptr;
    switch (this.dtype) {
      case FLOAT: return <f64>load<f32>(p + (<usize>i << 2));
      case DOUBLE: return load<f64>(p + (<usize>i << 3));
      case FLOAT16: return <f64>halfToF32(<u32>load<u16>(p + (<usize>i << 1)));
      case INT8: return <f64>load<i8>(p + <usize>i);
      case UINT8: return <f64>load<u8>(p + <usize>i);
      case BOOL: return load<u8>(p + <usize>i) != 0 ? 1 : 0;
      case INT16: return <f64>load<i16>(p + (<usize>i << 1));
      case UINT16: return <f64>load<u16>(p + (<usize>i << 1));
      case INT32: return <f64>load<i32>(p + (<usize>i << 2));
      case UINT32: return <f64>load<u32>(p + (<usize>i << 2));
      case INT64: return <f64>load<i64>(p + (<usize>i << 3));
      case UINT64: return <f64>load<u64>(p + (<usize>i << 3));
    }
    return 0;
  }

  /**
   * Stores v into element i: float types round (float16 to nearest even); integer types take
   * v truncated toward zero and wrapped to their width (callers keep v in range); bool is v != 0.
   */
  storeF64(i: i32, v: f64): void {
    const p = this.ptr;
    switch (this.dtype) {
      case FLOAT: store<f32>(p + (<usize>i << 2), <f32>v); break;
      case DOUBLE: store<f64>(p + (<usize>i << 3), v); break;
      case FLOAT16: store<u16>(p + (<usize>i << 1), f64ToHalf(v)); break;
      case BOOL: store<u8>(p + <usize>i, v != 0 ? 1 : 0); break;
      case UINT64: store<u64>(p + (<usize>i << 3), v >= 9223372036854775808.0 ? <u64>v : <u64>(<i64>v)); break;
      default: this.storeI64(i, v != v ? 0 : <i64>v);
    }
  }

  /** Element i of an integer or bool type, exactly (uint64 as its bit pattern); floats truncate. */
  loadI64(i: i32): i64 {
    const p = this.ptr;
    switch (this.dtype) {
      case INT64: case UINT64: return load<i64>(p + (<usize>i << 3));
      case INT32: return <i64>load<i32>(p + (<usize>i << 2));
      case UINT32: return <i64>load<u32>(p + (<usize>i << 2));
      case INT16: return <i64>load<i16>(p + (<usize>i << 1));
      case UINT16: return <i64>load<u16>(p + (<usize>i << 1));
      case INT8: return <i64>load<i8>(p + <usize>i);
      case UINT8: return <i64>load<u8>(p + <usize>i);
      case BOOL: return load<u8>(p + <usize>i) != 0 ? 1 : 0;
    }
    return <i64>this.loadF64(i);
  }

  /** Stores v into element i, wrapped to an integer type's width; float types convert; bool is v != 0. */
  storeI64(i: i32, v: i64): void {
    const p = this.ptr;
    switch (this.dtype) {
      case INT64: case UINT64: store<i64>(p + (<usize>i << 3), v); break;
      case INT32: case UINT32: store<i32>(p + (<usize>i << 2), <i32>v); break;
      case INT16: case UINT16: store<i16>(p + (<usize>i << 1), <i16>v); break;
      case INT8: case UINT8: store<i8>(p + <usize>i, <i8>v); break;
      case BOOL: store<u8>(p + <usize>i, v != 0 ? 1 : 0); break;
      default: if (isFloatType(this.dtype)) this.storeF64(i, <f64>v);
    }
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
