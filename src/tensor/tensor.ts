/**
 * A tensor as modelship holds it between engines, files and protocols: name, ONNX element type,
 * dims and raw little-endian row-major bytes, with the element tables and typed views.
 */
import { bfloat16ToNumber, halfToNumber } from './half-float.js';

export const ONNX_DATA_TYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  bfloat16: 16,
} as const;

export type TensorType = keyof typeof ONNX_DATA_TYPE;

export interface Tensor {
  readonly name: string;
  readonly type: TensorType;
  readonly dims: readonly number[];
  /** Raw little-endian element bytes, row-major. */
  readonly data: Uint8Array;
}

export const ELEMENT_BYTES: Record<TensorType, number> = {
  float32: 4,
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
  float64: 8,
  uint32: 4,
  uint64: 8,
  bfloat16: 2,
};

/** The float types (compared within a tolerance); every other type compares exactly. */
export function isFloatType(type: TensorType): boolean {
  return type === 'float32' || type === 'float64' || type === 'float16' || type === 'bfloat16';
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

export function typeOfCode(code: number): TensorType | undefined {
  return (Object.keys(ONNX_DATA_TYPE) as TensorType[]).find((t) => ONNX_DATA_TYPE[t] === code);
}

export type TypedValues =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Uint8Array
  | Int8Array;

/**
 * A typed-array copy of a tensor's elements (bool as 0/1 in a Uint8Array, float16 and bfloat16
 * as their bit patterns in a Uint16Array, which is what onnxruntime-node takes); assumes a little-endian host.
 */
export function typedValues(t: Tensor): TypedValues {
  const buffer = Uint8Array.from(t.data).buffer; // a fresh, aligned copy
  switch (t.type) {
    case 'float32':
      return new Float32Array(buffer);
    case 'float64':
      return new Float64Array(buffer);
    case 'int64':
      return new BigInt64Array(buffer);
    case 'uint64':
      return new BigUint64Array(buffer);
    case 'int32':
      return new Int32Array(buffer);
    case 'uint32':
      return new Uint32Array(buffer);
    case 'int16':
      return new Int16Array(buffer);
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer);
    case 'int8':
      return new Int8Array(buffer);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer);
  }
}

/** A tensor's element values: numbers (float16/bfloat16 decoded, bool 0/1) or bigints (int64, uint64). */
export function elementValues(t: Tensor): ArrayLike<number | bigint> {
  const values = typedValues(t);
  if (t.type === 'float16') return Float64Array.from(values as Uint16Array, halfToNumber);
  if (t.type === 'bfloat16') return Float64Array.from(values as Uint16Array, bfloat16ToNumber);
  return values;
}
