/**
 * Sequences and optionals in the host <-> ONNX engine byte format. tensor-codec.ts defines the
 * request and response and the tensor entry; here an entry's value may also be a container,
 * marked in the data-type byte (which no ONNX tensor type uses):
 *
 *   entry    := u16 nameLength name value
 *   value    := tensor body (u8 dataType u8 rank i64 dims[rank] u32 byteLength data)
 *             | 0x80 u8 elemType u32 count value[count]              (a sequence of tensors)
 *             | 0x81 u8 elemType u8 flags [value]                    (an optional;
 *                 flags bit 0: it holds a value, which follows; bit 1: of a sequence)
 *
 * A request or response without containers is byte-for-byte the tensor-only format.
 */
import { ELEMENT_BYTES, ONNX_DATA_TYPE, REQUEST_MAGIC, RESPONSE_MAGIC, TensorCodecError, elementCount, encodeTensorBody, typeOfCode, type Tensor, type TensorType } from './tensor-codec.js';

const SEQUENCE_MARK = 0x80;
const OPTIONAL_MARK = 0x81;

export interface SequenceValue {
  readonly kind: 'sequence';
  readonly name: string;
  readonly elemType: TensorType;
  /** Unnamed tensors (their `name` is ''). */
  readonly items: readonly Tensor[];
}

export interface OptionalValue {
  readonly kind: 'optional';
  readonly name: string;
  readonly elemType: TensorType;
  /** What an empty optional would hold. */
  readonly ofSequence: boolean;
  readonly value: Tensor | SequenceValue | null;
}

/** A graph input or output: a tensor, a sequence of tensors, or an optional of either. */
export type Value = Tensor | SequenceValue | OptionalValue;

export function isTensor(v: Value): v is Tensor {
  return !('kind' in v);
}

export function encodeValuesRequest(model: Uint8Array, inputs: readonly Value[]): Uint8Array {
  const parts: Uint8Array[] = [Buffer.from(REQUEST_MAGIC, 'ascii'), u32(model.length), model, u32(inputs.length)];
  for (const v of inputs) {
    const name = Buffer.from(v.name, 'utf8');
    if (name.length > 0xffff) throw new TensorCodecError(`value name too long: ${v.name.slice(0, 40)}...`);
    parts.push(u16(name.length), name, ...encodeValue(v));
  }
  return Buffer.concat(parts);
}

function encodeValue(v: Value): Uint8Array[] {
  if (isTensor(v)) return encodeTensorBody(v);
  if (v.kind === 'sequence') {
    const head = Buffer.alloc(6);
    head.writeUInt8(SEQUENCE_MARK, 0);
    head.writeUInt8(ONNX_DATA_TYPE[v.elemType], 1);
    head.writeUInt32LE(v.items.length, 2);
    return [head, ...v.items.flatMap((t) => {
      if (t.type !== v.elemType) throw new TensorCodecError(`sequence ${v.name} holds a ${t.type} item, declared ${v.elemType}`);
      return encodeTensorBody(t);
    })];
  }
  const head = Buffer.from([OPTIONAL_MARK, ONNX_DATA_TYPE[v.elemType], (v.value ? 1 : 0) | (v.ofSequence ? 2 : 0)]);
  return v.value ? [head, ...encodeValue(v.value)] : [head];
}

export function decodeValuesResponse(bytes: Uint8Array): Value[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const need = (n: number, what: string): void => {
    if (pos + n > buf.length) throw new TensorCodecError(`plugin output truncated reading ${what} at byte ${pos}`);
  };
  const elemType = (code: number, name: string): TensorType => {
    const t = typeOfCode(code);
    if (!t) throw new TensorCodecError(`output ${name} has unknown data type ${code}`);
    return t;
  };
  const readValue = (name: string, depth: number): Value => {
    need(1, `type of ${name}`);
    const code = buf.readUInt8(pos++);
    if (code === SEQUENCE_MARK || code === OPTIONAL_MARK) {
      if (depth > 1) throw new TensorCodecError(`output ${name} nests containers too deep`);
      if (code === SEQUENCE_MARK) {
        need(5, `sequence header of ${name}`);
        const type = elemType(buf.readUInt8(pos), name);
        const count = buf.readUInt32LE(pos + 1);
        pos += 5;
        const items: Tensor[] = [];
        for (let i = 0; i < count; i++) {
          const item = readValue('', depth + 1);
          if (!isTensor(item)) throw new TensorCodecError(`output ${name} is a sequence of containers`);
          items.push(item);
        }
        return { kind: 'sequence', name, elemType: type, items };
      }
      need(2, `optional header of ${name}`);
      const type = elemType(buf.readUInt8(pos), name);
      const flags = buf.readUInt8(pos + 1);
      pos += 2;
      if (!(flags & 1)) return { kind: 'optional', name, elemType: type, ofSequence: (flags & 2) !== 0, value: null };
      const inner = readValue(name, depth + 1);
      if (!isTensor(inner) && inner.kind === 'optional') throw new TensorCodecError(`output ${name} is an optional of an optional`);
      return { kind: 'optional', name, elemType: type, ofSequence: !isTensor(inner), value: inner as Tensor | SequenceValue };
    }
    const type = elemType(code, name);
    need(1, `rank of ${name}`);
    const rank = buf.readUInt8(pos++);
    need(rank * 8 + 4, `dims of ${name}`);
    const dims: number[] = [];
    for (let d = 0; d < rank; d++, pos += 8) {
      const dim = buf.readBigInt64LE(pos);
      if (dim < 0n || dim > BigInt(Number.MAX_SAFE_INTEGER)) throw new TensorCodecError(`output ${name} has dimension ${dim}`);
      dims.push(Number(dim));
    }
    const byteLength = buf.readUInt32LE(pos);
    pos += 4;
    need(byteLength, `data of ${name}`);
    if (byteLength !== elementCount(dims) * ELEMENT_BYTES[type]) throw new TensorCodecError(`output ${name}: ${byteLength} bytes do not fit shape [${dims}] of ${type}`);
    const data = Uint8Array.from(buf.subarray(pos, pos + byteLength));
    pos += byteLength;
    return { name, type, dims, data };
  };
  need(8, 'header');
  if (buf.toString('ascii', 0, 4) !== RESPONSE_MAGIC) throw new TensorCodecError('plugin output does not start with MSO1');
  const count = buf.readUInt32LE(4);
  pos = 8;
  const values: Value[] = [];
  for (let i = 0; i < count; i++) {
    need(2, 'name length');
    const nameLength = buf.readUInt16LE(pos);
    pos += 2;
    need(nameLength, 'name');
    const name = buf.toString('utf8', pos, pos + nameLength);
    pos += nameLength;
    values.push(readValue(name, 0));
  }
  if (pos !== buf.length) throw new TensorCodecError(`plugin output has ${buf.length - pos} trailing bytes`);
  return values;
}

function u16(n: number): Uint8Array {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

function u32(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
