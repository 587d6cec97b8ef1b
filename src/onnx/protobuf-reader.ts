/**
 * Just enough of the protobuf wire format to read an ONNX ModelProto's header fields.
 * Every length is bounds-checked: a corrupt file ends in a ProtobufError, never a wild read.
 */
export class ProtobufError extends Error {}

export const WireType = { VARINT: 0, FIXED64: 1, LENGTH_DELIMITED: 2, FIXED32: 5 } as const;

export interface Field {
  readonly number: number;
  readonly wireType: number;
  /** For VARINT: the value. */
  readonly varint?: bigint;
  /** For LENGTH_DELIMITED: the bytes. */
  readonly bytes?: Uint8Array;
  /** For FIXED32/FIXED64: the 4 or 8 little-endian value bytes. */
  readonly fixed?: Uint8Array;
}

export function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) throw new ProtobufError(`truncated varint at byte ${pos}`);
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new ProtobufError(`varint longer than 10 bytes at byte ${pos}`);
  };
  const skip = (n: number): void => {
    if (n < 0 || pos + n > buf.length) throw new ProtobufError(`field runs past the end (needs ${n} bytes at ${pos}, ${buf.length - pos} left)`);
    pos += n;
  };
  while (pos < buf.length) {
    const key = readVarint();
    const number = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (number === 0) throw new ProtobufError(`field number 0 at byte ${pos}`);
    switch (wireType) {
      case WireType.VARINT:
        yield { number, wireType, varint: readVarint() };
        break;
      case WireType.FIXED64:
      case WireType.FIXED32: {
        const start = pos;
        skip(wireType === WireType.FIXED64 ? 8 : 4);
        yield { number, wireType, fixed: buf.subarray(start, pos) };
        break;
      }
      case WireType.LENGTH_DELIMITED: {
        const len = readVarint();
        if (len > BigInt(buf.length - pos)) throw new ProtobufError(`length ${len} at byte ${pos} runs past the end of the data`);
        const start = pos;
        skip(Number(len));
        yield { number, wireType, bytes: buf.subarray(start, pos) };
        break;
      }
      default:
        throw new ProtobufError(`unsupported wire type ${wireType} for field ${number}`);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function fieldString(field: Field, what: string): string {
  if (!field.bytes) throw new ProtobufError(`${what} is not a length-delimited field`);
  try {
    return utf8.decode(field.bytes);
  } catch {
    throw new ProtobufError(`${what} is not valid UTF-8`);
  }
}

export function fieldInt(field: Field, what: string): number {
  if (field.varint === undefined) throw new ProtobufError(`${what} is not a varint field`);
  // int64 fields encode negatives as 10-byte two's complement.
  const value = BigInt.asIntN(64, field.varint);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw new ProtobufError(`${what} is out of range`);
  return Number(value);
}
