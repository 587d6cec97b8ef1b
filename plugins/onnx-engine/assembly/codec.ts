// The host <-> plugin byte format (see src/sandbox/tensor-codec.ts), little-endian:
//   request  := "MSI1" u32 modelLength model[modelLength] u32 count tensor[count]
//   response := "MSO1" u32 count tensor[count]
//   tensor   := u16 nameLength name u8 dataType u8 rank i64 dims[rank] u32 byteLength data
// The request is read straight from the host's input (no full copy in linear memory): the
// model and each tensor's data land in their own buffers. The response is written straight
// into a host block.
import { decodeError, failed, modelError, unsupported } from "./errors";
import { OutputBlock, inputCopy, inputLength, inputU8 } from "./host";
import { NamedTensor } from "./onnx/tensor-proto";
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
    const dtype = <i32>c.u8();
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
    for (let j = 0; j < req.inputs.length; j++) {
      if (unchecked(req.inputs[j]).name == name) {
        decodeError("request has input " + name + " twice");
        return null;
      }
    }
    const data = c.bytes(<i32>byteLength);
    req.inputs.push(new NamedTensor(name, new Tensor(dtype, dims, <i32>n, data)));
  }
  if (c.pos != c.end) {
    decodeError("request has " + (c.end - c.pos).toString() + " trailing bytes");
    return null;
  }
  return req;
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
    if (o.tensor.dims.length > 255) {
      modelError("output " + o.name + " has rank above 255");
      return false;
    }
    unchecked((names[i] = nb));
    total += 2 + <i64>nb.byteLength + 2 + 8 * <i64>o.tensor.dims.length + 4 + <i64>o.tensor.byteLength;
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
    const rank = o.tensor.dims.length;
    store<u8>(h, <u8>o.tensor.dtype);
    store<u8>(h + 1, <u8>rank);
    for (let d = 0; d < rank; d++) store<i64>(h + 2 + (<usize>d << 3), <i64>unchecked(o.tensor.dims[d]));
    const len = o.tensor.byteLength;
    store<u32>(h + 2 + (<usize>rank << 3), <u32>len);
    out.write(h, 2 + rank * 8 + 4);
    out.write(changetype<usize>(o.tensor.data), len);
  }
  out.finish();
  return true;
}
