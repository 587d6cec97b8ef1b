// Comparisons (Equal, Less, Greater, LessOrEqual, GreaterOrEqual -> bool), logical ops on
// bool (And, Or, Xor, Not), Where, IsNaN, IsInf; multidirectional broadcasting.
import { Plan, broadcastShapes } from "../broadcast";
import { failed } from "../errors";
import { BOOL, CLASS_FLOAT, FLOAT, UINT64, dimsToString, elementSize, isNumericType, newTensor, typeClass } from "../tensor";
import { OpContext } from "./context";

export const EQUAL: i32 = 0;
export const LESS: i32 = 1;
export const GREATER: i32 = 2;
export const LESS_EQUAL: i32 = 3;
export const GREATER_EQUAL: i32 = 4;
export const AND: i32 = 5;
export const OR: i32 = 6;
export const XOR: i32 = 7;

export function compareOp(ctx: OpContext, op: i32): void {
  const a = ctx.input(0, "A");
  const b = ctx.input(1, "B");
  if (a === null || b === null) return;
  const logical = op >= AND;
  const okA = logical ? a.dtype == BOOL : isNumericType(a.dtype) || (op == EQUAL && a.dtype == BOOL);
  if (!okA) return ctx.unsupportedType(a, "A");
  const okB = logical ? b.dtype == BOOL : isNumericType(b.dtype) || (op == EQUAL && b.dtype == BOOL);
  if (!okB) return ctx.unsupportedType(b, "B");
  if (a.dtype != b.dtype) return ctx.error("inputs A and B have different data types");
  const outDims = broadcastShapes(a.dims, b.dims);
  if (outDims === null) return ctx.error("shapes " + dimsToString(a.dims) + " and " + dimsToString(b.dims) + " cannot be broadcast together");
  const out = newTensor(BOOL, outDims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  const plan = new Plan(outDims, [a.dims, b.dims]);
  const sa = plan.innerStride(0);
  const sb = plan.innerStride(1);
  let po = out.ptr;
  const dt = a.dtype;
  const inFloat = typeClass(dt) == CLASS_FLOAT;
  const u64 = dt == UINT64;
  for (let o = 0; o < plan.outer; o++) {
    let ia = plan.offset(0);
    let ib = plan.offset(1);
    for (let i = 0; i < plan.inner; i++, ia += sa, ib += sb, po++) {
      let c: i32 = 0; // -1, 0, 1 ordering; 2 = unordered (NaN)
      if (dt == FLOAT) {
        const x = a.getF32(ia);
        const y = b.getF32(ib);
        c = x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
      } else if (inFloat) {
        const x = a.loadF64(ia);
        const y = b.loadF64(ib);
        c = x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
      } else if (u64) {
        const x = <u64>a.loadI64(ia);
        const y = <u64>b.loadI64(ib);
        c = x < y ? -1 : x > y ? 1 : 0;
      } else if (dt != BOOL) {
        const x = a.loadI64(ia);
        const y = b.loadI64(ib);
        c = x < y ? -1 : x > y ? 1 : 0;
      } else {
        const x = <i32>load<u8>(a.ptr + <usize>ia) != 0;
        const y = <i32>load<u8>(b.ptr + <usize>ib) != 0;
        if (op == AND) c = x && y ? 1 : 0;
        else if (op == OR) c = x || y ? 1 : 0;
        else if (op == XOR) c = x != y ? 1 : 0;
        else c = x == y ? 0 : 1;
      }
      let r: bool;
      switch (op) {
        case EQUAL: r = c == 0; break;
        case LESS: r = c == -1; break;
        case GREATER: r = c == 1; break;
        case LESS_EQUAL: r = c == -1 || c == 0; break;
        case GREATER_EQUAL: r = c == 1 || c == 0; break;
        default: r = c == 1;
      }
      store<u8>(po, r ? 1 : 0);
    }
    plan.step();
  }
  ctx.setOutput(0, out);
}

export function notOp(ctx: OpContext): void {
  const x = ctx.input(0, "X");
  if (x === null) return;
  if (x.dtype != BOOL) return ctx.unsupportedType(x, "X");
  const out = newTensor(BOOL, x.dims, "output of " + ctx.label());
  if (out === null) return;
  for (let i = 0; i < x.size; i++) store<u8>(out.ptr + <usize>i, load<u8>(x.ptr + <usize>i) != 0 ? 0 : 1);
  ctx.setOutput(0, out);
}

/** IsNaN, IsInf (detect_positive / detect_negative). */
export function isSpecialOp(ctx: OpContext, nan: bool): void {
  const x = ctx.input(0, "X");
  if (x === null) return;
  if (typeClass(x.dtype) != CLASS_FLOAT) return ctx.unsupportedType(x, "X");
  const pos = nan ? true : ctx.attrInt("detect_positive", 1) != 0;
  const neg = nan ? true : ctx.attrInt("detect_negative", 1) != 0;
  if (failed()) return;
  const out = newTensor(BOOL, x.dims, "output of " + ctx.label());
  if (out === null) return;
  for (let i = 0; i < x.size; i++) {
    const v = x.loadF64(i);
    const r = nan ? v != v : (pos && v == Infinity) || (neg && v == -Infinity);
    store<u8>(out.ptr + <usize>i, r ? 1 : 0);
  }
  ctx.setOutput(0, out);
}

export function whereOp(ctx: OpContext): void {
  const c = ctx.input(0, "condition");
  const x = ctx.input(1, "X");
  const y = ctx.input(2, "Y");
  if (c === null || x === null || y === null) return;
  if (c.dtype != BOOL) return ctx.unsupportedType(c, "condition");
  if (x.dtype != y.dtype) return ctx.error("X and Y have different data types");
  const d1 = broadcastShapes(c.dims, x.dims);
  let outDims: Array<i32> | null = null;
  if (d1 !== null) outDims = broadcastShapes(d1, y.dims);
  if (outDims === null) return ctx.error("shapes " + dimsToString(c.dims) + ", " + dimsToString(x.dims) + " and " + dimsToString(y.dims) + " cannot be broadcast together");
  const out = newTensor(x.dtype, outDims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  const es = <usize>elementSize(x.dtype);
  const plan = new Plan(outDims, [c.dims, x.dims, y.dims]);
  const sc = plan.innerStride(0);
  const sx = <usize>plan.innerStride(1) * es;
  const sy = <usize>plan.innerStride(2) * es;
  let po = out.ptr;
  for (let o = 0; o < plan.outer; o++) {
    let pc = c.ptr + <usize>plan.offset(0);
    let px = x.ptr + <usize>plan.offset(1) * es;
    let py = y.ptr + <usize>plan.offset(2) * es;
    for (let i = 0; i < plan.inner; i++, pc += <usize>sc, px += sx, py += sy, po += es) {
      memory.copy(po, load<u8>(pc) != 0 ? px : py, es);
    }
    plan.step();
  }
  ctx.setOutput(0, out);
}

