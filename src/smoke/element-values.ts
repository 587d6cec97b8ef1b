/**
 * Writing element values of every ONNX element type into a tensor's little-endian bytes, with
 * each integer type's range, for the input generator and the inputs files.
 */
import { ELEMENT_BYTES, ONNX_DATA_TYPE, type TensorType } from '../tensor/tensor.js';
import type { TensorSignature } from '../release/types.js';
import { SmokeInputError } from '../errors/index.js';
import { numberToHalf } from '../tensor/half-float.js';

/** Inclusive value range of each integer type (bool as 0/1); floats have none. */
export const INTEGER_RANGES: Partial<Record<TensorType, readonly [bigint, bigint]>> = {
  bool: [0n, 1n],
  int8: [-128n, 127n],
  uint8: [0n, 255n],
  int16: [-32768n, 32767n],
  uint16: [0n, 65535n],
  int32: [-2147483648n, 2147483647n],
  uint32: [0n, 4294967295n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

export function isFloat(type: TensorType): boolean {
  return type === 'float16' || type === 'float32' || type === 'float64';
}

/**
 * Writes `value` as element `index` of a `type` buffer; integers must be whole and in range
 * (the caller names the input in the error it makes of the returned problem).
 */
export function writeElement(out: Buffer, type: TensorType, index: number, value: number | bigint | boolean): string | undefined {
  const at = index * ELEMENT_BYTES[type];
  if (isFloat(type)) {
    if (typeof value === 'boolean') return `${value} is not a number`;
    const n = Number(value);
    if (type === 'float32') out.writeFloatLE(n, at);
    else if (type === 'float64') out.writeDoubleLE(n, at);
    else out.writeUInt16LE(numberToHalf(n), at);
    return undefined;
  }
  let v: bigint;
  if (typeof value === 'boolean') v = value ? 1n : 0n;
  else if (typeof value === 'bigint') v = value;
  else if (Number.isInteger(value)) v = BigInt(value);
  else return `${value} is not a whole number`;
  const [min, max] = INTEGER_RANGES[type]!;
  if (v < min || v > max) return `${v} is out of range for ${type} (${min}..${max})`;
  switch (type) {
    case 'bool':
    case 'uint8':
      out.writeUInt8(Number(v), at);
      break;
    case 'int8':
      out.writeInt8(Number(v), at);
      break;
    case 'int16':
      out.writeInt16LE(Number(v), at);
      break;
    case 'uint16':
      out.writeUInt16LE(Number(v), at);
      break;
    case 'int32':
      out.writeInt32LE(Number(v), at);
      break;
    case 'uint32':
      out.writeUInt32LE(Number(v), at);
      break;
    case 'int64':
      out.writeBigInt64LE(v, at);
      break;
    case 'uint64':
      out.writeBigUInt64LE(v, at);
      break;
  }
  return undefined;
}

/** The tensor type of a model input (onnxruntime's spelling), or an error naming the input. */
export function tensorTypeOf(input: TensorSignature): TensorType {
  const type = input.type === 'float' ? 'float32' : input.type;
  if (!(type in ONNX_DATA_TYPE)) {
    throw new SmokeInputError(`input ${input.name} has element type ${input.type}, which smoke inputs cannot carry (float16/32/64, int8/16/32/64, uint8/16/32/64, bool)`);
  }
  return type as TensorType;
}

