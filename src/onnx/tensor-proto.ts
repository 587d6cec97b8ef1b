/**
 * Decodes a serialized onnx.TensorProto (as in the ONNX backend test suite's input_K.pb and
 * output_K.pb files) into the sandbox's Tensor: name, type, dims and raw little-endian data.
 * Every read goes through the bounds-checked protobuf reader; damage ends in a ProtobufError
 * (or a TensorProtoError for a well-formed message we cannot represent), never a wild read.
 */
import { fieldInt, fieldString, fields, ProtobufError, WireType, type Field } from './protobuf-reader.js';
import { ELEMENT_BYTES, elementCount, typedValues, type Tensor, type TensorType, type TypedValues, typeOfCode } from '../tensor/tensor.js';

export class TensorProtoError extends Error {}
/** A well-formed TensorProto this codec cannot carry (element type, external or segmented data). */
export class UnsupportedTensorError extends TensorProtoError {}

/** TensorProto.DataType names, for error messages about types we do not carry. */
export const ONNX_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'UNDEFINED',
  1: 'FLOAT',
  2: 'UINT8',
  3: 'INT8',
  4: 'UINT16',
  5: 'INT16',
  6: 'INT32',
  7: 'INT64',
  8: 'STRING',
  9: 'BOOL',
  10: 'FLOAT16',
  11: 'DOUBLE',
  12: 'UINT32',
  13: 'UINT64',
  14: 'COMPLEX64',
  15: 'COMPLEX128',
  16: 'BFLOAT16',
  17: 'FLOAT8E4M3FN',
  18: 'FLOAT8E4M3FNUZ',
  19: 'FLOAT8E5M2',
  20: 'FLOAT8E5M2FNUZ',
  21: 'UINT4',
  22: 'INT4',
  23: 'FLOAT4E2M1',
};

export function onnxTypeName(code: number): string {
  return `${ONNX_TYPE_NAMES[code] ?? 'unknown'} (data_type ${code})`;
}


// TensorProto field numbers (onnx.proto3).
const DIMS = 1;
const DATA_TYPE = 2;
const SEGMENT = 3;
const FLOAT_DATA = 4;
const INT32_DATA = 5;
const STRING_DATA = 6;
const INT64_DATA = 7;
const NAME = 8;
const RAW_DATA = 9;
const DOUBLE_DATA = 10;
const UINT64_DATA = 11;
const EXTERNAL_DATA = 13;
const DATA_LOCATION = 14;

type DataSource = 'raw_data' | 'float_data' | 'int32_data' | 'int64_data' | 'double_data' | 'uint64_data' | 'string_data';

/** Which typed field may carry each of our types (per onnx.proto's comments). */
const TYPED_FIELD: Record<TensorType, DataSource> = {
  float32: 'float_data',
  float64: 'double_data',
  int64: 'int64_data',
  int32: 'int32_data',
  int8: 'int32_data',
  uint8: 'int32_data',
  int16: 'int32_data',
  uint16: 'int32_data',
  float16: 'int32_data',
  bfloat16: 'int32_data',
  bool: 'int32_data',
  uint32: 'uint64_data',
  uint64: 'uint64_data',
};

export function decodeTensorProto(bytes: Uint8Array): Tensor {
  let name = '';
  let dataType: number | undefined;
  const dims: number[] = [];
  let raw: Uint8Array | undefined;
  const fixed32: Uint8Array[] = []; // float_data
  const fixed64: Uint8Array[] = []; // double_data
  const varints: { int32: bigint[]; int64: bigint[]; uint64: bigint[] } = { int32: [], int64: [], uint64: [] };
  const seen = new Set<DataSource>();

  for (const field of fields(bytes)) {
    switch (field.number) {
      case DIMS:
        for (const v of repeatedVarints(field, 'dims')) {
          const d = BigInt.asIntN(64, v);
          if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) throw new TensorProtoError(`tensor dimension ${d} is out of range`);
          dims.push(Number(d));
        }
        break;
      case DATA_TYPE:
        dataType = fieldInt(field, 'data_type');
        break;
      case NAME:
        name = fieldString(field, 'name');
        break;
      case RAW_DATA:
        if (!field.bytes) throw new ProtobufError('raw_data is not a length-delimited field');
        raw = field.bytes;
        seen.add('raw_data');
        break;
      case FLOAT_DATA:
        seen.add('float_data');
        if (field.wireType === WireType.LENGTH_DELIMITED) fixed32.push(packedFixed(field.bytes!, 4, 'float_data'));
        else if (field.wireType === WireType.FIXED32) fixed32.push(field.fixed!);
        else throw new ProtobufError(`float_data has wire type ${field.wireType}`);
        break;
      case DOUBLE_DATA:
        seen.add('double_data');
        if (field.wireType === WireType.LENGTH_DELIMITED) fixed64.push(packedFixed(field.bytes!, 8, 'double_data'));
        else if (field.wireType === WireType.FIXED64) fixed64.push(field.fixed!);
        else throw new ProtobufError(`double_data has wire type ${field.wireType}`);
        break;
      case INT32_DATA:
        seen.add('int32_data');
        varints.int32.push(...repeatedVarints(field, 'int32_data'));
        break;
      case INT64_DATA:
        seen.add('int64_data');
        varints.int64.push(...repeatedVarints(field, 'int64_data'));
        break;
      case UINT64_DATA:
        seen.add('uint64_data');
        varints.uint64.push(...repeatedVarints(field, 'uint64_data'));
        break;
      case STRING_DATA:
        seen.add('string_data');
        break;
      case SEGMENT:
        throw new UnsupportedTensorError('segmented tensors (TensorProto.segment) are not supported');
      case EXTERNAL_DATA:
        throw new UnsupportedTensorError('tensors with external data are not supported');
      case DATA_LOCATION:
        if (fieldInt(field, 'data_location') !== 0) throw new UnsupportedTensorError('tensors with external data are not supported');
        break;
    }
  }

  const label = name === '' ? 'tensor' : `tensor ${name}`;
  if (dataType === undefined || dataType === 0) throw new TensorProtoError(`${label} has no data_type`);
  const type = typeOfCode(dataType);
  if (!type) throw new UnsupportedTensorError(`${label} has unsupported element type ${onnxTypeName(dataType)}`);
  if (seen.size > 1) throw new TensorProtoError(`${label} carries data in more than one field (${[...seen].join(', ')})`);
  const source = [...seen][0];
  const count = elementCount(dims);
  const byteLength = count * ELEMENT_BYTES[type];
  if (!Number.isSafeInteger(byteLength)) throw new TensorProtoError(`${label} shape [${dims}] is too large`);

  let data: Uint8Array;
  if (source === undefined) {
    if (count !== 0) throw new TensorProtoError(`${label} has shape [${dims}] (${count} elements of ${type}) but no data`);
    data = new Uint8Array(0);
  } else if (source === 'raw_data') {
    if (raw!.length !== byteLength) throw new TensorProtoError(`${label}: raw_data has ${raw!.length} bytes, shape [${dims}] of ${type} needs ${byteLength}`);
    data = Uint8Array.from(raw!);
  } else {
    if (source !== TYPED_FIELD[type]) throw new TensorProtoError(`${label} of type ${type} carries its data in ${source}, expected ${TYPED_FIELD[type]} or raw_data`);
    data = typedFieldBytes(type, count, label, fixed32, fixed64, varints);
  }
  return { name, type, dims, data };
}

function typedFieldBytes(
  type: TensorType,
  count: number,
  label: string,
  fixed32: Uint8Array[],
  fixed64: Uint8Array[],
  varints: { int32: bigint[]; int64: bigint[]; uint64: bigint[] },
): Uint8Array {
  const mismatch = (have: number) => new TensorProtoError(`${label}: ${TYPED_FIELD[type]} has ${have} values, shape needs ${count}`);
  switch (type) {
    case 'float32':
    case 'float64': {
      const chunks = type === 'float32' ? fixed32 : fixed64;
      const data = Buffer.concat(chunks);
      const have = data.length / ELEMENT_BYTES[type];
      if (have !== count) throw mismatch(have);
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    case 'int64': {
      if (varints.int64.length !== count) throw mismatch(varints.int64.length);
      const out = Buffer.alloc(count * 8);
      varints.int64.forEach((v, i) => out.writeBigInt64LE(BigInt.asIntN(64, v), i * 8));
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    }
    case 'uint32':
    case 'uint64': {
      if (varints.uint64.length !== count) throw mismatch(varints.uint64.length);
      const out = Buffer.alloc(count * ELEMENT_BYTES[type]);
      varints.uint64.forEach((v, i) => {
        if (type === 'uint64') out.writeBigUInt64LE(BigInt.asUintN(64, v), i * 8);
        else if (v > 0xffffffffn) throw new TensorProtoError(`${label}: uint64_data value ${v} is out of range for uint32`);
        else out.writeUInt32LE(Number(v), i * 4);
      });
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    }
    default: {
      // int32, int16, uint16, int8, uint8, bool, float16 and bfloat16 (their bits) travel in int32_data, one varint per element.
      if (varints.int32.length !== count) throw mismatch(varints.int32.length);
      const [min, max] = {
        int32: [-2147483648, 2147483647],
        int16: [-32768, 32767],
        uint16: [0, 65535],
        float16: [0, 65535],
        bfloat16: [0, 65535],
        int8: [-128, 127],
        uint8: [0, 255],
        bool: [0, 1],
      }[type];
      const out = Buffer.alloc(count * ELEMENT_BYTES[type]);
      varints.int32.forEach((v, i) => {
        const n = Number(BigInt.asIntN(64, v));
        if (n < min! || n > max!) throw new TensorProtoError(`${label}: int32_data value ${n} is out of range for ${type}`);
        if (type === 'int32') out.writeInt32LE(n, i * 4);
        else if (type === 'int16') out.writeInt16LE(n, i * 2);
        else if (type === 'uint16' || type === 'float16' || type === 'bfloat16') out.writeUInt16LE(n, i * 2);
        else if (type === 'int8') out.writeInt8(n, i);
        else out.writeUInt8(n, i);
      });
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    }
  }
}

/** A repeated varint field, packed (one length-delimited field) or not (one varint per field). */
function repeatedVarints(field: Field, what: string): bigint[] {
  if (field.wireType === WireType.VARINT) return [field.varint!];
  if (field.wireType !== WireType.LENGTH_DELIMITED) throw new ProtobufError(`${what} has wire type ${field.wireType}`);
  const buf = field.bytes!;
  const values: bigint[] = [];
  let pos = 0;
  while (pos < buf.length) {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new ProtobufError(`truncated varint in packed ${what}`);
      if (shift >= 70n) throw new ProtobufError(`varint longer than 10 bytes in packed ${what}`);
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) break;
    }
    values.push(BigInt.asUintN(64, result));
  }
  return values;
}

function packedFixed(bytes: Uint8Array, width: number, what: string): Uint8Array {
  if (bytes.length % width !== 0) throw new ProtobufError(`packed ${what} has ${bytes.length} bytes, not a multiple of ${width}`);
  return bytes;
}

export type { TypedValues };

/** A typed-array copy of a tensor's elements, after checking its byte length against its shape. */
export function tensorToTyped(t: Tensor): TypedValues {
  const expected = elementCount(t.dims) * ELEMENT_BYTES[t.type];
  if (t.data.length !== expected) throw new TensorProtoError(`tensor ${t.name}: ${t.data.length} data bytes, shape [${t.dims}] of ${t.type} needs ${expected}`);
  return typedValues(t);
}
