// Elementwise binary ops with multidirectional broadcasting (Add, Sub, Mul, Div, Pow, Max,
// Min, Sum, Mean, PRelu, Mod, BitShift, BitwiseAnd/Or/Xor) and unary float ops (Relu,
// LeakyRelu, Sigmoid, Tanh, Exp, ...). float32 has its own fast loops; every other numeric
// type goes through one generic kernel: float16/float64 in f64 (one rounding on store),
// integers exactly in i64 (wrapped to their width on store; uint64 compared and divided unsigned).
import { Plan, broadcastShapes, broadcastsTo } from "../broadcast";
import { failed } from "../errors";
import { CLASS_FLOAT, CLASS_UNSIGNED, DOUBLE, FLOAT, FLOAT16, INT32, INT64, Tensor, UINT64, dimsToString, isIntegerType, isNumericType, newTensor, typeClass } from "../tensor";
import { OpContext } from "./context";

export const ADD: i32 = 0;
export const SUB: i32 = 1;
export const MUL: i32 = 2;
export const DIV: i32 = 3;
export const POW: i32 = 4;
export const MAX: i32 = 5;
export const MIN: i32 = 6;
export const PRELU: i32 = 7;
/** Integer Mod with the divisor's sign (fmod=0). */
export const MOD: i32 = 8;
/** C fmod: the dividend's sign (Mod with fmod=1). */
export const FMOD: i32 = 9;
export const SHIFT_LEFT: i32 = 10;
export const SHIFT_RIGHT: i32 = 11;
export const BIT_AND: i32 = 12;
export const BIT_OR: i32 = 13;
export const BIT_XOR: i32 = 14;

function runF32(op: i32, pa: usize, sa: i32, pb: usize, sb: i32, po: usize, n: i32): void {
  const da = <usize>sa << 2;
  const db = <usize>sb << 2;
  const end = po + (<usize>n << 2);
  switch (op) {
    case ADD:
      for (; po < end; po += 4, pa += da, pb += db) store<f32>(po, load<f32>(pa) + load<f32>(pb));
      break;
    case SUB:
      for (; po < end; po += 4, pa += da, pb += db) store<f32>(po, load<f32>(pa) - load<f32>(pb));
      break;
    case MUL:
      for (; po < end; po += 4, pa += da, pb += db) store<f32>(po, load<f32>(pa) * load<f32>(pb));
      break;
    case DIV:
      for (; po < end; po += 4, pa += da, pb += db) store<f32>(po, load<f32>(pa) / load<f32>(pb));
      break;
    case POW:
      for (; po < end; po += 4, pa += da, pb += db) store<f32>(po, <f32>Math.pow(<f64>load<f32>(pa), <f64>load<f32>(pb)));
      break;
    case MAX:
      for (; po < end; po += 4, pa += da, pb += db) {
        const x = load<f32>(pa);
        const y = load<f32>(pb);
        store<f32>(po, x != x || y != y ? NaN : (x >= y ? x : y));
      }
      break;
    case MIN:
      for (; po < end; po += 4, pa += da, pb += db) {
        const x = load<f32>(pa);
        const y = load<f32>(pb);
        store<f32>(po, x != x || y != y ? NaN : (x <= y ? x : y));
      }
      break;
    case PRELU:
      for (; po < end; po += 4, pa += da, pb += db) {
        const x = load<f32>(pa);
        store<f32>(po, x < 0 ? x * load<f32>(pb) : x);
      }
      break;
  }
}

/** Float family (float16, float64, and Pow's mixed types) in f64: out[io..] = a[ia..] op b[ib..]. */
function runFloatGeneric(op: i32, a: Tensor, ia: i32, sa: i32, b: Tensor, ib: i32, sb: i32, out: Tensor, io: i32, n: i32): void {
  for (let i = 0; i < n; i++, ia += sa, ib += sb, io++) {
    const x = a.loadF64(ia);
    const y = b.loadF64(ib);
    let r: f64;
    switch (op) {
      case ADD: r = x + y; break;
      case SUB: r = x - y; break;
      case MUL: r = x * y; break;
      case DIV: r = x / y; break;
      case POW: r = Math.pow(x, y); break;
      case MAX: r = x != x || y != y ? NaN : (x >= y ? x : y); break;
      case MIN: r = x != x || y != y ? NaN : (x <= y ? x : y); break;
      case PRELU: r = x < 0 ? x * y : x; break;
      default: r = x % y; // FMOD (C fmod)
    }
    out.storeF64(io, r);
  }
}

/**
 * Integers exactly in i64 (narrower types are sign- or zero-extended, so only uint64 needs
 * unsigned division and comparison). Returns false on division by zero or int64 overflow.
 */
function runIntGeneric(op: i32, a: Tensor, ia: i32, sa: i32, b: Tensor, ib: i32, sb: i32, out: Tensor, io: i32, n: i32): bool {
  const u64 = a.dtype == UINT64;
  const width = <i64>(a.byteLength == 0 ? 8 : (a.byteLength / a.size) * 8);
  for (let i = 0; i < n; i++, ia += sa, ib += sb, io++) {
    const x = a.loadI64(ia);
    const y = b.loadI64(ib);
    let r: i64;
    switch (op) {
      case ADD: r = x + y; break;
      case SUB: r = x - y; break;
      case MUL: r = x * y; break;
      case DIV:
      case MOD:
      case FMOD: {
        if (y == 0 || (!u64 && y == -1 && x == i64.MIN_VALUE)) return false;
        if (op == DIV) r = u64 ? <i64>(<u64>x / <u64>y) : x / y; // truncates, as C++ does
        else {
          r = u64 ? <i64>(<u64>x % <u64>y) : x % y;
          if (op == MOD && !u64 && r != 0 && (r < 0) != (y < 0)) r += y;
        }
        break;
      }
      case MAX: r = (u64 ? <u64>x >= <u64>y : x >= y) ? x : y; break;
      case MIN: r = (u64 ? <u64>x <= <u64>y : x <= y) ? x : y; break;
      case POW: r = ipow(x, y); break;
      case SHIFT_LEFT: r = y >= width || y < 0 ? 0 : x << y; break;
      case SHIFT_RIGHT: r = y >= width || y < 0 ? 0 : <i64>(<u64>x >> <u64>y); break;
      case BIT_AND: r = x & y; break;
      case BIT_OR: r = x | y; break;
      case BIT_XOR: r = x ^ y; break;
      default: r = x < 0 ? x * y : x; // PRELU
    }
    out.storeI64(io, r);
  }
  return true;
}

/** x^y for integers by squaring (wrapping); a negative exponent truncates toward zero. */
function ipow(x: i64, y: i64): i64 {
  if (y < 0) return x == 1 ? 1 : x == -1 ? ((y & 1) != 0 ? -1 : 1) : 0;
  let r: i64 = 1;
  let b = x;
  let e = y;
  while (e > 0) {
    if ((e & 1) != 0) r *= b;
    b *= b;
    e >>= 1;
  }
  return r;
}

/**
 * out = a (op) b with multidirectional broadcasting. a and b have the same type, except for
 * Pow, whose exponent may be any numeric type; the output has a's type.
 */
export function binary(ctx: OpContext, op: i32, a: Tensor, b: Tensor, what: string): Tensor | null {
  const outDims = broadcastShapes(a.dims, b.dims);
  if (outDims === null) {
    ctx.error(what + ": shapes " + dimsToString(a.dims) + " and " + dimsToString(b.dims) + " cannot be broadcast together");
    return null;
  }
  const out = newTensor(a.dtype, outDims, "output of " + ctx.label());
  if (out === null) return null;
  if (out.size == 0) return out;
  const ins = new Array<Array<i32>>(2);
  unchecked((ins[0] = a.dims));
  unchecked((ins[1] = b.dims));
  const plan = new Plan(outDims, ins);
  const cls = typeClass(a.dtype);
  const fast32 = a.dtype == FLOAT && b.dtype == FLOAT && op <= PRELU;
  if (!fast32) {
    // a float base with an integer exponent (Pow) or any non-float32 float computes in f64;
    // an integer base with a float exponent too (then truncated to the base type, as onnxruntime)
    const inFloat = cls == CLASS_FLOAT || typeClass(b.dtype) == CLASS_FLOAT;
    const si = plan.innerStride(0);
    const sj = plan.innerStride(1);
    let io = 0;
    for (let o = 0; o < plan.outer; o++) {
      if (inFloat) runFloatGeneric(op, a, plan.offset(0), si, b, plan.offset(1), sj, out, io, plan.inner);
      else if (!runIntGeneric(op, a, plan.offset(0), si, b, plan.offset(1), sj, out, io, plan.inner)) {
        ctx.error("integer division by zero or overflow");
        return null;
      }
      io += plan.inner;
      plan.step();
    }
    return out;
  }
  const sa = plan.innerStride(0);
  const sb = plan.innerStride(1);
  let po = out.ptr;
  for (let o = 0; o < plan.outer; o++) {
    runF32(op, a.ptr + (<usize>plan.offset(0) << 2), sa, b.ptr + (<usize>plan.offset(1) << 2), sb, po, plan.inner);
    po += <usize>plan.inner << 2;
    plan.step();
  }
  return out;
}

/** Both inputs numeric (or, without allowInt, float) and of one type. */
function numericPair(ctx: OpContext, a: Tensor, b: Tensor, nameA: string, nameB: string, allowInt: bool): bool {
  const okA = allowInt ? isNumericType(a.dtype) : typeClass(a.dtype) == CLASS_FLOAT;
  if (!okA) {
    ctx.unsupportedType(a, nameA);
    return false;
  }
  const okB = allowInt ? isNumericType(b.dtype) : typeClass(b.dtype) == CLASS_FLOAT;
  if (!okB) {
    ctx.unsupportedType(b, nameB);
    return false;
  }
  if (a.dtype != b.dtype) {
    ctx.error("inputs " + nameA + " and " + nameB + " have different data types");
    return false;
  }
  return true;
}

/** Add, Sub, Mul, Div, Pow. */
export function binaryOp(ctx: OpContext, op: i32): void {
  const a = ctx.input(0, op == POW ? "X" : "A");
  const b = ctx.input(1, op == POW ? "Y" : "B");
  if (a === null || b === null) return;
  if (op == POW && ctx.opset >= 12) {
    // base and exponent types are independent from opset 12; the result has the base's type
    if (!(typeClass(a.dtype) == CLASS_FLOAT || a.dtype == INT32 || a.dtype == INT64)) return ctx.unsupportedType(a, "X");
    if (!isNumericType(b.dtype)) return ctx.unsupportedType(b, "Y");
  } else if (!numericPair(ctx, a, b, op == POW ? "X" : "A", op == POW ? "Y" : "B", op != POW)) return;
  ctx.setOutput(0, binary(ctx, op, a, b, "inputs"));
}

/** Mod: integers (fmod=0 takes the divisor's sign, fmod=1 the dividend's) and floats (fmod=1). */
export function modOp(ctx: OpContext): void {
  const a = ctx.input(0, "A");
  const b = ctx.input(1, "B");
  if (a === null || b === null) return;
  const fmod = ctx.attrInt("fmod", 0);
  if (failed()) return;
  if (fmod != 0 && fmod != 1) return ctx.error("attribute fmod must be 0 or 1, is " + fmod.toString());
  if (!numericPair(ctx, a, b, "A", "B", true)) return;
  if (fmod == 0 && typeClass(a.dtype) == CLASS_FLOAT) return ctx.error("fmod must be 1 for floating-point inputs");
  ctx.setOutput(0, binary(ctx, fmod == 1 ? FMOD : MOD, a, b, "inputs"));
}

/** BitShift (direction LEFT/RIGHT) and BitwiseAnd/Or/Xor on integers. */
export function bitwiseOp(ctx: OpContext, op: i32): void {
  const a = ctx.input(0, op == SHIFT_LEFT ? "X" : "A");
  const b = ctx.input(1, op == SHIFT_LEFT ? "Y" : "B");
  if (a === null || b === null) return;
  let code = op;
  if (op == SHIFT_LEFT) {
    const dir = ctx.attrString("direction", "");
    if (failed()) return;
    if (dir == "RIGHT") code = SHIFT_RIGHT;
    else if (dir != "LEFT") return ctx.error('attribute direction must be "LEFT" or "RIGHT", is "' + dir + '"');
    if (typeClass(a.dtype) != CLASS_UNSIGNED) return ctx.unsupportedType(a, "X");
  }
  if (!isIntegerType(a.dtype)) return ctx.unsupportedType(a, "A");
  if (a.dtype != b.dtype) return ctx.error("inputs have different data types");
  ctx.setOutput(0, binary(ctx, code, a, b, "inputs"));
}

/** BitwiseNot. */
export function bitwiseNotOp(ctx: OpContext): void {
  const x = ctx.input(0, "X");
  if (x === null) return;
  if (!isIntegerType(x.dtype)) return ctx.unsupportedType(x, "X");
  const out = newTensor(x.dtype, x.dims, "output of " + ctx.label());
  if (out === null) return;
  for (let i = 0; i < x.size; i++) out.storeI64(i, ~x.loadI64(i));
  ctx.setOutput(0, out);
}

/** Max, Min, Sum, Mean: variadic with multidirectional broadcasting. */
export function variadicOp(ctx: OpContext, op: i32, mean: bool): void {
  if (ctx.inputCount == 0) return ctx.error("needs at least one input");
  let acc = ctx.input(0, "data_0");
  if (acc === null) return;
  const ok = mean ? typeClass(acc.dtype) == CLASS_FLOAT : isNumericType(acc.dtype);
  if (!ok) return ctx.unsupportedType(acc, "data_0");
  for (let i = 1; i < ctx.inputCount; i++) {
    const name = "data_" + i.toString();
    const t = ctx.input(i, name);
    if (t === null) return;
    if (!numericPair(ctx, acc, t, "data_0", name, !mean)) return;
    acc = binary(ctx, op, acc, t, "inputs");
    if (acc === null) return;
  }
  if (ctx.inputCount == 1) {
    acc = new Tensor(acc.dtype, acc.dims, acc.size, acc.data);
  } else if (mean && acc.dtype == FLOAT) {
    const scale = <f32>1 / <f32>ctx.inputCount;
    // acc is a fresh tensor here, owned by this op
    for (let i = 0; i < acc.size; i++) store<f32>(acc.ptr + (<usize>i << 2), load<f32>(acc.ptr + (<usize>i << 2)) * scale);
  } else if (mean) {
    const n = <f64>ctx.inputCount;
    for (let i = 0; i < acc.size; i++) acc.storeF64(i, acc.loadF64(i) / n);
  }
  ctx.setOutput(0, acc);
}

export function preluOp(ctx: OpContext): void {
  const x = ctx.float(0, "X");
  const slope = ctx.float(1, "slope");
  if (x === null || slope === null) return;
  let slopeT = slope;
  if (ctx.opset < 7 && slope.rank == 1 && x.rank >= 2 && slope.dims[0] == x.dims[1] && slope.size > 1) {
    // PRelu-1/6: a 1-D slope is per channel (axis 1), not numpy-broadcast from the right
    const dims = [slope.dims[0]];
    for (let i = 2; i < x.rank; i++) dims.push(1);
    slopeT = slope.reshaped(dims);
  }
  if (!broadcastsTo(slopeT.dims, x.dims)) {
    return ctx.error("slope shape " + dimsToString(slope.dims) + " does not broadcast to X shape " + dimsToString(x.dims));
  }
  ctx.setOutput(0, binary(ctx, PRELU, x, slopeT, "inputs"));
}

// ---- unary ----

export const RELU: i32 = 0;
export const LEAKY_RELU: i32 = 1;
export const SIGMOID: i32 = 2;
export const TANH: i32 = 3;
export const EXP: i32 = 4;
export const SQRT: i32 = 5;
export const NEG: i32 = 6;
export const ABS: i32 = 7;
export const LOG: i32 = 8;
export const RECIPROCAL: i32 = 9;
export const FLOOR: i32 = 10;
export const CEIL: i32 = 11;
export const ELU: i32 = 12;
export const SELU: i32 = 13;
export const HARD_SIGMOID: i32 = 14;
export const SOFTPLUS: i32 = 15;
export const SOFTSIGN: i32 = 16;
export const ERF: i32 = 17;
export const HARD_SWISH: i32 = 18;
export const SIN: i32 = 19;
export const COS: i32 = 20;
export const TAN: i32 = 21;
export const ASIN: i32 = 22;
export const ACOS: i32 = 23;
export const ATAN: i32 = 24;
export const SINH: i32 = 25;
export const COSH: i32 = 26;
export const ASINH: i32 = 27;
export const ACOSH: i32 = 28;
export const ATANH: i32 = 29;
export const SIGN: i32 = 30;
export const ROUND: i32 = 31;
export const THRESHOLDED_RELU: i32 = 32;
export const SHRINK: i32 = 33;
export const CELU: i32 = 34;
export const GELU: i32 = 35;
export const MISH: i32 = 36;

@inline function sigmoid(x: f32): f32 {
  if (x >= 0) return <f32>1 / (<f32>1 + Mathf.exp(-x));
  const e = Mathf.exp(x);
  return e / (<f32>1 + e);
}

/** erf with |error| < 1.2e-7 (Numerical Recipes erfc, in double precision). */
function erf(x: f64): f64 {
  const z = Math.abs(x);
  const t = 1.0 / (1.0 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1.0 - r : r - 1.0;
}

/** Neg, Abs, Sign, Relu on integers (exact, wrapped to the width). */
function unaryInt(ctx: OpContext, x: Tensor, op: i32): void {
  const out = newTensor(x.dtype, x.dims, "output of " + ctx.label());
  if (out === null) return;
  const unsigned = typeClass(x.dtype) == CLASS_UNSIGNED;
  for (let i = 0; i < x.size; i++) {
    const v = x.loadI64(i);
    let r: i64;
    if (unsigned) r = op == NEG ? -v : op == SIGN ? (v != 0 ? 1 : 0) : v;
    else if (op == NEG) r = -v;
    else if (op == ABS) r = v < 0 ? -v : v;
    else if (op == SIGN) r = v > 0 ? 1 : v < 0 ? -1 : 0;
    else r = v > 0 ? v : 0;
    out.storeI64(i, r);
  }
  ctx.setOutput(0, out);
}

/** The parameterless float ops on float64 and float16, in f64 (one rounding for float16). */
function unaryWide(ctx: OpContext, x: Tensor, op: i32): void {
  const out = newTensor(x.dtype, x.dims, "output of " + ctx.label());
  if (out === null) return;
  for (let i = 0; i < x.size; i++) {
    const v = x.loadF64(i);
    let r: f64;
    switch (op) {
      case RELU: r = v > 0 ? v : (v == v ? 0 : v); break;
      case SIGMOID: r = v >= 0 ? 1.0 / (1.0 + Math.exp(-v)) : Math.exp(v) / (1.0 + Math.exp(v)); break;
      case TANH: r = Math.tanh(v); break;
      case EXP: r = Math.exp(v); break;
      case SQRT: r = Math.sqrt(v); break;
      case NEG: r = -v; break;
      case ABS: r = Math.abs(v); break;
      case LOG: r = Math.log(v); break;
      case RECIPROCAL: r = 1.0 / v; break;
      case FLOOR: r = Math.floor(v); break;
      case CEIL: r = Math.ceil(v); break;
      case SOFTPLUS: r = v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v)); break;
      case SOFTSIGN: r = v / (1.0 + Math.abs(v)); break;
      case ERF: r = erf(v); break;
      case HARD_SWISH: r = v * Math.max(0, Math.min(1, v / 6.0 + 0.5)); break;
      case SIN: r = Math.sin(v); break;
      case COS: r = Math.cos(v); break;
      case TAN: r = Math.tan(v); break;
      case ASIN: r = Math.asin(v); break;
      case ACOS: r = Math.acos(v); break;
      case ATAN: r = Math.atan(v); break;
      case SINH: r = Math.sinh(v); break;
      case COSH: r = Math.cosh(v); break;
      case ASINH: r = Math.asinh(v); break;
      case ACOSH: r = Math.acosh(v); break;
      case ATANH: r = Math.atanh(v); break;
      case SIGN: r = v > 0 ? 1 : v < 0 ? -1 : v; break;
      default: r = nearest<f64>(v); // ROUND
    }
    out.storeF64(i, r);
  }
  ctx.setOutput(0, out);
}

export function unaryOp(ctx: OpContext, op: i32): void {
  const xi = ctx.input(0, "X");
  if (xi === null) return;
  if (isIntegerType(xi.dtype) && (op == NEG || op == ABS || op == SIGN || (op == RELU && ctx.opset >= 14))) return unaryInt(ctx, xi, op);
  if ((xi.dtype == DOUBLE || xi.dtype == FLOAT16) && op <= ROUND && op != LEAKY_RELU && op != ELU && op != SELU && op != HARD_SIGMOID) return unaryWide(ctx, xi, op);
  const x = ctx.float(0, "X");
  if (x === null) return;
  let alpha: f32 = 0;
  let beta: f32 = 0;
  let gamma: f32 = 0;
  if (op == LEAKY_RELU) alpha = ctx.attrFloat("alpha", 0.01);
  else if (op == ELU) alpha = ctx.attrFloat("alpha", 1.0);
  else if (op == SELU) {
    alpha = ctx.attrFloat("alpha", 1.67326319217681884765625);
    gamma = ctx.attrFloat("gamma", 1.05070102214813232421875);
  } else if (op == HARD_SIGMOID) {
    alpha = ctx.attrFloat("alpha", 0.2);
    beta = ctx.attrFloat("beta", 0.5);
  } else if (op == THRESHOLDED_RELU || op == CELU) {
    alpha = ctx.attrFloat("alpha", 1.0);
  } else if (op == SHRINK) {
    alpha = ctx.attrFloat("lambd", 0.5);
    beta = ctx.attrFloat("bias", 0);
  } else if (op == GELU) {
    const approx = ctx.attrString("approximate", "none");
    if (approx == "tanh") alpha = 1;
    else if (approx != "none") return ctx.error('invalid approximate "' + approx + '"');
  }
  if (failed()) return;
  const out = newTensor(FLOAT, x.dims, "output of " + ctx.label());
  if (out === null) return;
  const n = x.size;
  const pi = x.ptr;
  const po = out.ptr;
  for (let i = 0; i < n; i++) {
    const off = <usize>i << 2;
    const v = load<f32>(pi + off);
    let r: f32;
    switch (op) {
      case RELU: r = v > 0 ? v : (v == v ? <f32>0 : v); break;
      case LEAKY_RELU: r = v >= 0 ? v : v * alpha; break;
      case SIGMOID: r = sigmoid(v); break;
      case TANH: r = Mathf.tanh(v); break;
      case EXP: r = Mathf.exp(v); break;
      case SQRT: r = Mathf.sqrt(v); break;
      case NEG: r = -v; break;
      case ABS: r = Mathf.abs(v); break;
      case LOG: r = Mathf.log(v); break;
      case RECIPROCAL: r = <f32>1 / v; break;
      case FLOOR: r = Mathf.floor(v); break;
      case CEIL: r = Mathf.ceil(v); break;
      case ELU: r = v >= 0 ? v : alpha * (Mathf.exp(v) - 1); break;
      case SELU: r = v > 0 ? gamma * v : gamma * (alpha * Mathf.exp(v) - alpha); break;
      case HARD_SIGMOID: r = max(<f32>0, min(<f32>1, alpha * v + beta)); break;
      case SOFTPLUS: r = v > 0 ? v + Mathf.log(<f32>1 + Mathf.exp(-v)) : Mathf.log(<f32>1 + Mathf.exp(v)); break;
      case SOFTSIGN: r = v / (<f32>1 + Mathf.abs(v)); break;
      case ERF: r = <f32>erf(<f64>v); break;
      case HARD_SWISH: r = v * max(<f32>0, min(<f32>1, v / <f32>6 + <f32>0.5)); break;
      case SIN: r = <f32>Math.sin(<f64>v); break;
      case COS: r = <f32>Math.cos(<f64>v); break;
      case TAN: r = <f32>Math.tan(<f64>v); break;
      case ASIN: r = <f32>Math.asin(<f64>v); break;
      case ACOS: r = <f32>Math.acos(<f64>v); break;
      case ATAN: r = <f32>Math.atan(<f64>v); break;
      case SINH: r = <f32>Math.sinh(<f64>v); break;
      case COSH: r = <f32>Math.cosh(<f64>v); break;
      case ASINH: r = <f32>Math.asinh(<f64>v); break;
      case ACOSH: r = <f32>Math.acosh(<f64>v); break;
      case ATANH: r = <f32>Math.atanh(<f64>v); break;
      case SIGN: r = v > 0 ? <f32>1 : v < 0 ? <f32>-1 : v == 0 ? <f32>0 : v; break;
      case ROUND: r = nearest<f32>(v); break;
      case THRESHOLDED_RELU: r = v > alpha ? v : <f32>0; break;
      case SHRINK: r = v < -alpha ? v + beta : v > alpha ? v - beta : <f32>0; break;
      case CELU: r = max(<f32>0, v) + min(<f32>0, alpha * (Mathf.exp(v / alpha) - 1)); break;
      case GELU:
        if (alpha == 0) r = <f32>(0.5 * <f64>v * (1.0 + erf(<f64>v * 0.7071067811865476)));
        else {
          const x = <f64>v;
          r = <f32>(0.5 * x * (1.0 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))));
        }
        break;
      case MISH: {
        const x = <f64>v;
        const sp = x > 20 ? x : Math.log1p(Math.exp(x));
        r = <f32>(x * Math.tanh(sp));
        break;
      }
      default: r = v;
    }
    store<f32>(po + off, r);
  }
  ctx.setOutput(0, out);
}

/** Clip: min/max attributes before opset 11 (float32), optional scalar inputs from 11 (any numeric type from 12). */
export function clipOp(ctx: OpContext): void {
  const x = ctx.input(0, "input");
  if (x === null) return;
  const ok = ctx.opset >= 12 ? isNumericType(x.dtype) : ctx.opset >= 11 ? typeClass(x.dtype) == CLASS_FLOAT : x.dtype == FLOAT;
  if (!ok) return ctx.unsupportedType(x, "input");
  const out = newTensor(x.dtype, x.dims, "output of " + ctx.label());
  if (out === null) return;
  if (ctx.opset < 11) {
    const lo = ctx.attrFloat("min", -3.4028234663852886e38);
    const hi = ctx.attrFloat("max", 3.4028234663852886e38);
    if (failed()) return;
    clipF32(x, out, lo, hi);
    return ctx.setOutput(0, out);
  }
  const tmin = ctx.optional(1);
  const tmax = ctx.optional(2);
  if (tmin !== null && (tmin.dtype != x.dtype)) return ctx.error("min has a different data type from input");
  if (tmax !== null && (tmax.dtype != x.dtype)) return ctx.error("max has a different data type from input");
  if (tmin !== null && tmin.size != 1) return ctx.error("min must be a scalar, has shape " + dimsToString(tmin.dims));
  if (tmax !== null && tmax.size != 1) return ctx.error("max must be a scalar, has shape " + dimsToString(tmax.dims));
  const cls = typeClass(x.dtype);
  if (x.dtype == FLOAT) {
    const lo = tmin !== null ? tmin.getF32(0) : -Infinity;
    const hi = tmax !== null ? tmax.getF32(0) : Infinity;
    clipF32(x, out, lo, hi);
  } else if (cls == CLASS_FLOAT) {
    const lo = tmin !== null ? tmin.loadF64(0) : -Infinity;
    const hi = tmax !== null ? tmax.loadF64(0) : Infinity;
    for (let i = 0; i < x.size; i++) {
      let v = x.loadF64(i);
      if (v < lo) v = lo;
      if (v > hi) v = hi;
      out.storeF64(i, v);
    }
  } else if (x.dtype == UINT64) {
    const lo = tmin !== null ? <u64>tmin.loadI64(0) : u64.MIN_VALUE;
    const hi = tmax !== null ? <u64>tmax.loadI64(0) : u64.MAX_VALUE;
    for (let i = 0; i < x.size; i++) {
      let v = <u64>x.loadI64(i);
      if (v < lo) v = lo;
      if (v > hi) v = hi;
      out.storeI64(i, <i64>v);
    }
  } else {
    const lo = tmin !== null ? tmin.loadI64(0) : i64.MIN_VALUE;
    const hi = tmax !== null ? tmax.loadI64(0) : i64.MAX_VALUE;
    for (let i = 0; i < x.size; i++) {
      let v = x.loadI64(i);
      if (v < lo) v = lo;
      if (v > hi) v = hi;
      out.storeI64(i, v);
    }
  }
  ctx.setOutput(0, out);
}

function clipF32(x: Tensor, out: Tensor, lo: f32, hi: f32): void {
  // numpy.clip semantics (what onnxruntime matches): min first, then max, so max wins if lo > hi
  for (let i = 0; i < x.size; i++) {
    let v = x.getF32(i);
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    store<f32>(out.ptr + (<usize>i << 2), v);
  }
}
