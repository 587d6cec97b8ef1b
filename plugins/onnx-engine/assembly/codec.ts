// The host <-> plugin byte format (see src/sandbox/tensor-codec.ts; sequences and optionals:
// src/sandbox/value-codec.ts), little-endian:
//   request  := "MSI1" u32 modelLength model[modelLength] u32 count tensor[count]
//   response := "MSO1" u32 count tensor[count]
//   tensor   := u16 nameLength name u8 dataType u8 rank i64 dims[rank] u32 byteLength data
// The request is read straight from the host's input (no full copy in linear memory): the
// model and each tensor's data land in their own buffers. The response is written straight
// into a host block.
import { decodeError, failed, modelError, unsupported } from "./errors";
import { OutputBlock, inputCopy, inputLength, inputU8 } from "./host";
import { NamedTensor } from "./onnx/tensor-proto";
import { OptionalValue, SequenceValue } from "./values";
import { MAX_RANK, MAX_TENSOR_BYTES, Tensor, allocBuffer, elementSize, shapeFitsI32, typeName } from "./tensor";

export class Request {
  model: ArrayBuffer = new ArrayBuffer(0);
  modelLength: i32 = 0;
  inputs: Array<NamedTensor> = new Array<NamedTensor>();
}

class Cursor {
  pos: i64 = 0;
  end: i64;

  constructor() {
    this.end = inputLength();
  }

  need(n: i64, what: string): bool {
    if (failed()) return false;
    if (n < 0 || this.end - this.pos < n) {
      decodeError("request truncated reading " + what + " at byte " + this.pos.toString());
      return false;
    }
    return true;
  }
  u8(): u32 {
    const v = inputU8(this.pos);
    this.pos += 1;
    return v;
  }
  u16(): u32 {
    return this.u8() | (this.u8() << 8);
  }
  u32(): u32 {
    return this.u16() | (this.u16() << 16);
  }
  i64(): i64 {
    const lo = <u64>this.u32();
    const hi = <u64>this.u32();
    return <i64>(lo | (hi << 32));
  }
  /** A new buffer holding the next n bytes (the caller checked need(n)). */
  bytes(n: i32): ArrayBuffer {
    const b = allocBuffer(n);
    inputCopy(this.pos, changetype<usize>(b), n);
    this.pos += n;
    return b;
  }
}

export function decodeRequest(): Request | null {
  const c = new Cursor();
  if (!c.need(8, "header")) return null;
  if (c.u32() != 0x3149534d) {
    // "MSI1"
    decodeError("request does not start with MSI1");
    return null;
  }
  const modelLength = c.u32();
  if (<i64>modelLength > c.end - c.pos) {
    decodeError("request truncated: model length " + modelLength.toString() + " exceeds the " + (c.end - c.pos).toString() + " bytes left");
    return null;
  }
  if (modelLength > 0x7fffffff) {
    decodeError("model too large");
    return null;
  }
  const req = new Request();
  req.model = c.bytes(<i32>modelLength);
  req.modelLength = <i32>modelLength;
  if (!c.need(4, "input count")) return null;
  const count = c.u32();
  for (let k: u32 = 0; k < count; k++) {
    if (!c.need(2, "input name length")) return null;
    const nameLength = <i32>c.u16();
    if (!c.need(nameLength + 2, "input name")) return null;
    const nameBytes = c.bytes(nameLength);
    const name = String.UTF8.decode(nameBytes);
    for (let j = 0; j < req.inputs.length; j++) {
      if (unchecked(req.inputs[j]).name == name) {
        decodeError("request has input " + name + " twice");
        return null;
      }
    }
    const value = readValue(c, name, 0);
    if (value === null) return null;
    req.inputs.push(new NamedTensor(name, value));
  }
  if (c.pos != c.end) {
    decodeError("request has " + (c.end - c.pos).toString() + " trailing bytes");
    return null;
  }
  return req;
}

/** Container markers in the data-type byte (see tensor-codec / value-codec on the host). */
const SEQUENCE_MARK: i32 = 0x80;
const OPTIONAL_MARK: i32 = 0x81;

/**
 * value := tensor body | 0x80 u8 elemType u32 count value[count] (tensors)
 *        | 0x81 u8 elemType u8 flags (1: has a value, 2: of a sequence) [value]
 */
function readValue(c: Cursor, name: string, depth: i32): Tensor | null {
  if (!c.need(1, "type of input " + name)) return null;
  const dtype = <i32>c.u8();
  if (dtype == SEQUENCE_MARK || dtype == OPTIONAL_MARK) {
    if (depth > 1) {
      decodeError("request input " + name + " nests containers too deep");
      return null;
    }
    if (dtype == SEQUENCE_MARK) {
      if (!c.need(5, "sequence header of input " + name)) return null;
      const elemType = <i32>c.u8();
      const count = c.u32();
      if (<i64>count > c.end - c.pos) {
        decodeError("request input " + name + " claims " + count.toString() + " sequence items");
        return null;
      }
      const items = new Array<Tensor>();
      for (let i: u32 = 0; i < count; i++) {
        if (!c.need(1, "sequence item of input " + name)) return null;
        if (<i32>inputU8(c.pos) >= SEQUENCE_MARK) {
          unsupported("sequences of containers (request input " + name + ")");
          return null;
        }
        const item = readValue(c, name + "[" + i.toString() + "]", depth + 1);
        if (item === null) return null;
        if (item.dtype != elemType) {
          decodeError("request input " + name + " holds a " + typeName(item.dtype) + " item in a sequence of " + typeName(elemType));
          return null;
        }
        items.push(item);
      }
      if (elementSize(elemType) == 0) {
        unsupported("data type " + typeName(elemType) + " for request input " + name);
        return null;
      }
      return new SequenceValue(elemType, items);
    }
    if (!c.need(2, "optional header of input " + name)) return null;
    const elemType = <i32>c.u8();
    const flags = c.u8();
    if ((flags & 1) == 0) return new OptionalValue(elemType, null, (flags & 2) != 0);
    const inner = readValue(c, name, depth + 1);
    if (inner === null) return null;
    if (inner instanceof OptionalValue) {
      decodeError("request input " + name + " is an optional of an optional");
      return null;
    }
    return new OptionalValue(inner.dtype, inner, inner instanceof SequenceValue);
  }
  return readTensorBody(c, name, dtype);
}

function readTensorBody(c: Cursor, name: string, dtype: i32): Tensor | null {
  if (!c.need(1, "rank of input " + name)) return null;
  const rank = <i32>c.u8();
  const es = elementSize(dtype);
  if (es == 0) {
    unsupported("data type " + typeName(dtype) + " for request input " + name);
    return null;
  }
  if (rank > MAX_RANK) {
    unsupported("rank " + rank.toString() + " for request input " + name + " (at most " + MAX_RANK.toString() + ")");
    return null;
  }
  if (!c.need(rank * 8 + 4, "dims of input " + name)) return null;
  const dims = new Array<i32>(rank);
  let n: i64 = 1;
  let nonZero: i64 = 1;
  for (let d = 0; d < rank; d++) {
    const v = c.i64();
    if (v < 0 || v > 0x7fffffff) {
      decodeError("request input " + name + " has dimension " + v.toString());
      return null;
    }
    n *= v;
    if (v > 0) nonZero *= v;
    if (!shapeFitsI32(nonZero)) {
      modelError("request input " + name + " has too many elements");
      return null;
    }
    if (n * <i64>es > MAX_TENSOR_BYTES) {
      modelError("request input " + name + " exceeds the engine's " + (MAX_TENSOR_BYTES >> 20).toString() + " MiB tensor limit");
      return null;
    }
    unchecked((dims[d] = <i32>v));
  }
  const byteLength = c.u32();
  if (<i64>byteLength != n * <i64>es) {
    decodeError("request input " + name + " has " + byteLength.toString() + " data bytes, its shape needs " + (n * <i64>es).toString());
    return null;
  }
  if (!c.need(<i64>byteLength, "data of input " + name)) return null;
  const data = c.bytes(<i32>byteLength);
  return new Tensor(dtype, dims, <i32>n, data);
}

/** Bytes of a value in the response, or -1 (with an error) when it cannot be written. */
function valueSize(t: Tensor, name: string): i64 {
  if (t instanceof SequenceValue) {
    const items = (<SequenceValue>t).items;
    let n: i64 = 1 + 1 + 4;
    for (let i = 0; i < items.length; i++) {
      const k = valueSize(unchecked(items[i]), name);
      if (k < 0) return -1;
      n += k;
    }
    return n;
  }
  if (t instanceof OptionalValue) {
    const v = (<OptionalValue>t).value;
    if (v === null) return 3;
    const k = valueSize(v, name);
    return k < 0 ? -1 : 3 + k;
  }
  if (t.dims.length > 255) {
    modelError("output " + name + " has rank above 255");
    return -1;
  }
  return 2 + 8 * <i64>t.dims.length + 4 + <i64>t.byteLength;
}

/** Writes a value (see readValue) through the scratch header h (8 + 8 * 256 bytes). */
function writeValue(out: OutputBlock, h: usize, t: Tensor): void {
  if (t instanceof SequenceValue) {
    const items = (<SequenceValue>t).items;
    store<u8>(h, <u8>SEQUENCE_MARK);
    store<u8>(h + 1, <u8>t.dtype);
    store<u32>(h + 2, <u32>items.length);
    out.write(h, 6);
    for (let i = 0; i < items.length; i++) writeValue(out, h, unchecked(items[i]));
    return;
  }
  if (t instanceof OptionalValue) {
    const o = <OptionalValue>t;
    const v = o.value;
    store<u8>(h, <u8>OPTIONAL_MARK);
    store<u8>(h + 1, <u8>t.dtype);
    store<u8>(h + 2, <u8>((v !== null ? 1 : 0) | (o.ofSequence || (v !== null && v instanceof SequenceValue) ? 2 : 0)));
    out.write(h, 3);
    if (v !== null) writeValue(out, h, v);
    return;
  }
  const rank = t.dims.length;
  store<u8>(h, <u8>t.dtype);
  store<u8>(h + 1, <u8>rank);
  for (let d = 0; d < rank; d++) store<i64>(h + 2 + (<usize>d << 3), <i64>unchecked(t.dims[d]));
  const len = t.byteLength;
  store<u32>(h + 2 + (<usize>rank << 3), <u32>len);
  out.write(h, 2 + rank * 8 + 4);
  out.write(changetype<usize>(t.data), len);
}

/** Writes the response straight into a host block and sets it as the output. */
export function writeResponse(outputs: Array<NamedTensor>): bool {
  let total: i64 = 8;
  const names = new Array<ArrayBuffer>(outputs.length);
  for (let i = 0; i < outputs.length; i++) {
    const o = unchecked(outputs[i]);
    const nb = String.UTF8.encode(o.name);
    if (nb.byteLength > 0xffff) {
      modelError("output name longer than 65535 bytes");
      return false;
    }
    unchecked((names[i] = nb));
    const size = valueSize(o.tensor, o.name);
    if (size < 0) return false;
    total += 2 + <i64>nb.byteLength + size;
  }
  if (total > 0xffffffff) {
    modelError("outputs are too large to return");
    return false;
  }
  const out = new OutputBlock(total);
  const head = new ArrayBuffer(8 + 8 * 256);
  const h = changetype<usize>(head);
  store<u32>(h, 0x314f534d); // "MSO1"
  store<u32>(h + 4, <u32>outputs.length);
  out.write(h, 8);
  for (let i = 0; i < outputs.length; i++) {
    const o = unchecked(outputs[i]);
    const nb = unchecked(names[i]);
    store<u16>(h, <u16>nb.byteLength);
    out.write(h, 2);
    out.write(changetype<usize>(nb), nb.byteLength);
    writeValue(out, h, o.tensor);
  }
  out.finish();
  return true;
}
