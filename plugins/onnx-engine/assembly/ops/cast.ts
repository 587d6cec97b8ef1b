// Cast and CastLike between every type the engine holds. Float -> integer truncates toward
// zero; NaN and out-of-range values give the integer minimum (what onnxruntime's static_cast
// yields on x86-64), narrower integers wrap; integer -> integer wraps; float -> float16
// rounds to nearest even; anything -> bool is "!= 0".
import { failed, unsupported } from "../errors";
import { BOOL, CLASS_FLOAT, CLASS_UNSIGNED, FLOAT, INT32, INT64, Tensor, UINT64, elementSize, newTensor, typeClass, typeName } from "../tensor";
import { OpContext } from "./context";

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

/** Float to uint64 the way compilers lower it on x86-64 (subtract 2^63 above it). */
@inline function f2u64(v: f64): i64 {
  if (v >= 9223372036854775808.0 && v < 18446744073709551616.0) return <i64>(<u64>v);
  return f2i64(v);
}

export function castTo(ctx: OpContext, x: Tensor, to: i32): void {
  if (elementSize(to) == 0) return unsupported("data type " + typeName(to) + " as the target of " + ctx.label());
  if (to == x.dtype) return ctx.setOutput(0, x);
  const out = newTensor(to, x.dims, "output of " + ctx.label());
  if (out === null) return;
  const n = x.size;
  const from = typeClass(x.dtype);
  const into = typeClass(to);
  if (from == CLASS_FLOAT) {
    if (into == CLASS_FLOAT || to == BOOL) {
      for (let i = 0; i < n; i++) out.storeF64(i, x.loadF64(i));
    } else if (to == INT64 || to == UINT64) {
      for (let i = 0; i < n; i++) out.storeI64(i, to == INT64 ? f2i64(x.loadF64(i)) : f2u64(x.loadF64(i)));
    } else if (to == INT32 || into != CLASS_UNSIGNED || elementSize(to) < 4) {
      for (let i = 0; i < n; i++) out.storeI64(i, <i64>f2i32(x.loadF64(i)));
    } else {
      for (let i = 0; i < n; i++) out.storeI64(i, f2i64(x.loadF64(i)));
    }
  } else if (into == CLASS_FLOAT) {
    if (x.dtype == INT64 && to == FLOAT) {
      // one rounding straight to f32 (through f64 could round twice)
      for (let i = 0; i < n; i++) out.storeF64(i, <f64>(<f32>x.getI64(i)));
    } else if (x.dtype == UINT64 && to == FLOAT) {
      for (let i = 0; i < n; i++) out.storeF64(i, <f64>(<f32>(<u64>x.getI64(i))));
    } else {
      for (let i = 0; i < n; i++) out.storeF64(i, x.loadF64(i));
    }
  } else {
    for (let i = 0; i < n; i++) out.storeI64(i, x.loadI64(i));
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
