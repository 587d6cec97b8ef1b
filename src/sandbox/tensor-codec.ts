/**
 * The byte format between the host and the ONNX engine plugin ("MST1"), little-endian:
 *
 *   request  := "MSI1" u32 modelLength model[modelLength] u32 count tensor[count]
 *   response := "MSO1" u32 count tensor[count]
 *   tensor   := u16 nameLength name[nameLength] (UTF-8)
 *               u8 dataType (ONNX TensorProto.DataType: 1 FLOAT, 7 INT64, ...)
 *               u8 rank  i64 dims[rank]
 *               u32 byteLength data[byteLength] (raw little-endian elements, row-major)
 *
 * The plugin decodes the same format in AssemblyScript (plugins/onnx-engine/assembly/codec.ts).
 */
import { bfloat16ToNumber, halfToNumber } from './half-float.js';

export const REQUEST_MAGIC = 'MSI1';
export const RESPONSE_MAGIC = 'MSO1';

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

export class TensorCodecError extends Error {}

export function encodeRequest(model: Uint8Array, inputs: readonly Tensor[]): Uint8Array {
  const parts: Uint8Array[] = [Buffer.from(REQUEST_MAGIC, 'ascii'), u32(model.length), model, u32(inputs.length)];
  for (const t of inputs) parts.push(...encodeTensor(t));
  return Buffer.concat(parts);
}

export function encodeResponse(outputs: readonly Tensor[]): Uint8Array {
  const parts: Uint8Array[] = [Buffer.from(RESPONSE_MAGIC, 'ascii'), u32(outputs.length)];
  for (const t of outputs) parts.push(...encodeTensor(t));
  return Buffer.concat(parts);
}

function encodeTensor(t: Tensor): Uint8Array[] {
  const name = Buffer.from(t.name, 'utf8');
  if (name.length > 0xffff) throw new TensorCodecError(`tensor name too long: ${t.name.slice(0, 40)}...`);
  const head = Buffer.alloc(2 + name.length);
  name.copy(head, head.writeUInt16LE(name.length, 0));
  return [head, ...encodeTensorBody(t)];
}

/** A tensor without its name: u8 dataType u8 rank i64 dims[rank] u32 byteLength data (also a sequence item, value-codec.ts). */
export function encodeTensorBody(t: Tensor): Uint8Array[] {
  if (t.dims.length > 255) throw new TensorCodecError(`tensor ${t.name} has rank ${t.dims.length}; at most 255`);
  const expected = elementCount(t.dims) * ELEMENT_BYTES[t.type];
  if (t.data.length !== expected) throw new TensorCodecError(`tensor ${t.name}: ${t.data.length} data bytes, shape [${t.dims}] of ${t.type} needs ${expected}`);
  const head = Buffer.alloc(2 + 8 * t.dims.length + 4);
  let o = head.writeUInt8(ONNX_DATA_TYPE[t.type], 0);
  o = head.writeUInt8(t.dims.length, o);
  for (const d of t.dims) o = head.writeBigInt64LE(BigInt(d), o);
  head.writeUInt32LE(t.data.length, o);
  return [head, t.data];
}

export function decodeResponse(bytes: Uint8Array): Tensor[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (pos: number, n: number, what: string) => {
    if (pos + n > buf.length) throw new TensorCodecError(`plugin output truncated reading ${what} at byte ${pos}`);
  };
  need(0, 8, 'header');
  if (buf.toString('ascii', 0, 4) !== RESPONSE_MAGIC) throw new TensorCodecError('plugin output does not start with MSO1');
  const count = buf.readUInt32LE(4);
  let pos = 8;
  const tensors: Tensor[] = [];
  for (let i = 0; i < count; i++) {
    need(pos, 2, 'name length');
    const nameLength = buf.readUInt16LE(pos);
    pos += 2;
    need(pos, nameLength + 2, 'name');
    const name = buf.toString('utf8', pos, pos + nameLength);
    pos += nameLength;
    const code = buf.readUInt8(pos++);
    const type = typeOfCode(code);
    if (!type) throw new TensorCodecError(`output ${name} has unknown data type ${code}`);
    const rank = buf.readUInt8(pos++);
    need(pos, rank * 8 + 4, 'dims');
    const dims: number[] = [];
    for (let d = 0; d < rank; d++, pos += 8) {
      const dim = buf.readBigInt64LE(pos);
      if (dim < 0n || dim > BigInt(Number.MAX_SAFE_INTEGER)) throw new TensorCodecError(`output ${name} has dimension ${dim}`);
      dims.push(Number(dim));
    }
    const byteLength = buf.readUInt32LE(pos);
    pos += 4;
    need(pos, byteLength, 'data');
    if (byteLength !== elementCount(dims) * ELEMENT_BYTES[type]) throw new TensorCodecError(`output ${name}: ${byteLength} bytes do not fit shape [${dims}] of ${type}`);
    tensors.push({ name, type, dims, data: Uint8Array.from(buf.subarray(pos, pos + byteLength)) });
    pos += byteLength;
  }
  if (pos !== buf.length) throw new TensorCodecError(`plugin output has ${buf.length - pos} trailing bytes`);
  return tensors;
}

function u32(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
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
