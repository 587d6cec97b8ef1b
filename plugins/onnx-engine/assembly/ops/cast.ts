// Cast and CastLike between the data types the engine holds: float32, float64, int64, int32,
// int8, uint8, bool. Float -> integer truncates toward zero; NaN and out-of-range values give
// the integer minimum (what onnxruntime's static_cast yields on x86-64).
import { failed, unsupported } from "../errors";
import { BOOL, DOUBLE, FLOAT, INT32, INT64, INT8, Tensor, UINT8, elementSize, newTensor, typeName } from "../tensor";
import { OpContext } from "./context";

@inline function readF64(t: Tensor, i: i32): f64 {
  const p = t.ptr;
  switch (t.dtype) {
    case FLOAT: return <f64>load<f32>(p + (<usize>i << 2));
    case DOUBLE: return load<f64>(p + (<usize>i << 3));
    case INT32: return <f64>load<i32>(p + (<usize>i << 2));
    case INT8: return <f64>load<i8>(p + <usize>i);
    case UINT8: return <f64>load<u8>(p + <usize>i);
    case BOOL: return load<u8>(p + <usize>i) != 0 ? 1 : 0;
  }
  return 0;
}

/** Float to int64 like x86 cvttsd2si: truncation, 0x8000000000000000 when out of range. */
@inline function f2i64(v: f64): i64 {
  if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return i64.MIN_VALUE;
  return <i64>v;
}

/** Float to int32 like cvttsd2si with a 32-bit destination. */
@inline function f2i32(v: f64): i32 {
  if (!(v > -2147483649.0 && v < 2147483648.0)) return i32.MIN_VALUE;
  return <i32>v;
}

export function castTo(ctx: OpContext, x: Tensor, to: i32): void {
  if (elementSize(to) == 0) return unsupported("data type " + typeName(to) + " as the target of " + ctx.label());
  if (to == x.dtype) return ctx.setOutput(0, x);
  const out = newTensor(to, x.dims, "output of " + ctx.label());
  if (out === null) return;
  const n = x.size;
  const po = out.ptr;
  const fromInt64 = x.dtype == INT64;
  for (let i = 0; i < n; i++) {
    if (fromInt64) {
      const v = x.getI64(i);
      switch (to) {
        case FLOAT: store<f32>(po + (<usize>i << 2), <f32>v); break;
        case DOUBLE: store<f64>(po + (<usize>i << 3), <f64>v); break;
        case INT32: store<i32>(po + (<usize>i << 2), <i32>v); break;
        case INT8: case UINT8: store<u8>(po + <usize>i, <u8>v); break;
        case BOOL: store<u8>(po + <usize>i, v != 0 ? 1 : 0); break;
      }
      continue;
    }
    const v = readF64(x, i);
    const isFloat = x.dtype == FLOAT || x.dtype == DOUBLE;
    switch (to) {
      case FLOAT: store<f32>(po + (<usize>i << 2), <f32>v); break;
      case DOUBLE: store<f64>(po + (<usize>i << 3), v); break;
      case INT64: store<i64>(po + (<usize>i << 3), isFloat ? f2i64(v) : <i64>v); break;
      case INT32: store<i32>(po + (<usize>i << 2), isFloat ? f2i32(v) : <i32>v); break;
      case INT8: case UINT8: store<u8>(po + <usize>i, <u8>(isFloat ? f2i32(v) : <i32>v)); break;
      case BOOL: store<u8>(po + <usize>i, v != 0 ? 1 : 0); break;
    }
  }
  ctx.setOutput(0, out);
}

export function castOp(ctx: OpContext): void {
  const x = ctx.input(0, "input");
  if (x === null) return;
  const to = ctx.attrInt("to", -1);
  if (failed()) return;
  if (to < 0) return ctx.error("attribute to is required");
  if (ctx.opset >= 19) {
    // saturate only affects float8 targets, which are unsupported anyway
    ctx.attrInt("saturate", 1);
    if (failed()) return;
  }
  castTo(ctx, x, <i32>min(to, 1000));
}

export function castLikeOp(ctx: OpContext): void {
  const x = ctx.input(0, "input");
  const like = ctx.input(1, "target_type");
  if (x === null || like === null) return;
  castTo(ctx, x, like.dtype);
}
