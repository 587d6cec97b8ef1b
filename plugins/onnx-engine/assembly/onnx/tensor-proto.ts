// TensorProto decoding: dims, data_type, raw_data and the typed data fields
// (float_data, int32_data, int64_data, double_data, uint64_data), all length-checked.
import { decodeError, failed, unsupported } from "../errors";
import { Reader, WIRE_LEN } from "../protobuf";
import { DOUBLE, FLOAT, FLOAT16, INT64, MAX_RANK, MAX_TENSOR_BYTES, Tensor, UINT16, UINT32, UINT64, elementSize, shapeFitsI32, typeName } from "../tensor";

export class NamedTensor {
  constructor(public name: string, public tensor: Tensor) {}
}

/** Decodes the TensorProto in r; `what` names it in messages (e.g. "initializer"). */
export function decodeTensorProto(r: Reader, what: string): NamedTensor | null {
  let name = "";
  let dataType: i32 = 0;
  const dims64 = new Array<i64>();
  let rawStart: i32 = -1;
  let rawEnd: i32 = -1;
  const floats = new Array<f32>();
  const int32s = new Array<i64>();
  const int64s = new Array<i64>();
  const doubles = new Array<f64>();
  const uint64s = new Array<i64>();
  let stringCount = 0;
  let external = false;
  let segmented = false;
  while (r.next()) {
    const f = r.field;
    if (f == 1) r.int64s(dims64);
    else if (f == 2) dataType = r.int32();
    else if (f == 3) {
      segmented = true;
      r.skip();
    } else if (f == 4) r.float32s(floats);
    else if (f == 5) r.int64s(int32s);
    else if (f == 6) {
      stringCount++;
      r.skip();
    } else if (f == 7) r.int64s(int64s);
    else if (f == 8) name = r.string();
    else if (f == 9) {
      if (r.wire != WIRE_LEN) {
        r.error("raw_data is not length-delimited");
      } else {
        rawStart = r.lengthDelimited();
        rawEnd = r.pos;
      }
    } else if (f == 10) r.float64s(doubles);
    else if (f == 11) r.int64s(uint64s);
    else if (f == 14) {
      if (r.int32() == 1) external = true;
    } else r.skip();
  }
  if (failed()) return null;
  const label = what + (name.length > 0 ? ' "' + name + '"' : "");
  if (segmented) {
    unsupported("segmented tensor data in " + label);
    return null;
  }
  if (external) {
    unsupported("external tensor data in " + label + " (embed the weights in the model file)");
    return null;
  }
  const es = elementSize(dataType);
  if (es == 0) {
    unsupported("data type " + typeName(dataType) + " for " + label);
    return null;
  }
  if (dims64.length > MAX_RANK) {
    unsupported("rank " + dims64.length.toString() + " for " + label + " (at most " + MAX_RANK.toString() + ")");
    return null;
  }
  const dims = new Array<i32>(dims64.length);
  let count: i64 = 1;
  let nonZero: i64 = 1;
  for (let i = 0; i < dims64.length; i++) {
    const d = unchecked(dims64[i]);
    if (d < 0 || d > 0x7fffffff) {
      decodeError(label + " has invalid dimension " + d.toString());
      return null;
    }
    count *= d;
    if (d > 0) nonZero *= d;
    if (!shapeFitsI32(nonZero)) {
      decodeError(label + " has too many elements");
      return null;
    }
    if (count * <i64>es > MAX_TENSOR_BYTES) {
      decodeError(label + " is larger than the engine's " + (MAX_TENSOR_BYTES >> 20).toString() + " MiB tensor limit");
      return null;
    }
    unchecked((dims[i] = <i32>d));
  }
  const n = <i32>count;
  const data = new ArrayBuffer(n * es); // model-owned: never pooled
  const t = new Tensor(dataType, dims, n, data);
  const dst = changetype<usize>(data);
  if (rawStart >= 0) {
    const len = rawEnd - rawStart;
    if (len != n * es) {
      decodeError(label + ": raw_data has " + len.toString() + " bytes, shape needs " + (n * es).toString());
      return null;
    }
    memory.copy(dst, r.base + <usize>rawStart, <usize>len);
    return new NamedTensor(name, t);
  }
  if (stringCount > 0) {
    decodeError(label + " has string_data, which does not fit data type " + typeName(dataType));
    return null;
  }
  // onnx.proto: uint32/uint64 travel in uint64_data; float16 (as bits), int8..uint16, int32
  // and bool in int32_data
  const wide = dataType == UINT32 || dataType == UINT64;
  let have = 0;
  if (dataType == FLOAT) have = floats.length;
  else if (dataType == INT64) have = int64s.length;
  else if (dataType == DOUBLE) have = doubles.length;
  else if (wide) have = uint64s.length;
  else have = int32s.length;
  const other = floats.length + int64s.length + doubles.length + int32s.length + uint64s.length - have;
  if (other > 0) {
    decodeError(label + " has typed data in a field that does not fit data type " + typeName(dataType));
    return null;
  }
  if (have != n) {
    decodeError(label + " has " + have.toString() + " data values, shape needs " + n.toString());
    return null;
  }
  if (dataType == FLOAT) {
    for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), unchecked(floats[i]));
  } else if (dataType == DOUBLE) {
    for (let i = 0; i < n; i++) store<f64>(dst + (<usize>i << 3), unchecked(doubles[i]));
  } else {
    const values = dataType == INT64 ? int64s : wide ? uint64s : int32s;
    // storeI64 wraps to the width (float16 bits land as u16 through its integer twin)
    const bits = dataType == FLOAT16 ? new Tensor(UINT16, dims, n, data) : t;
    for (let i = 0; i < n; i++) bits.storeI64(i, unchecked(values[i]));
  }
  return new NamedTensor(name, t);
}
