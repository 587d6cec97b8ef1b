// Softmax, LogSoftmax (and Hardmax): before opset 13 the input is coerced to 2-D at `axis`
// (default 1) and normalized over the flattened trailing block; from 13 over one axis
// (default -1).
import { failed } from "../errors";
import { FLOAT, newTensor, product } from "../tensor";
import { OpContext } from "./context";

export function softmaxOp(ctx: OpContext, log: bool): void {
  const x = ctx.float(0, "input");
  if (x === null) return;
  const r = x.rank;
  const legacy = ctx.opset < 13;
  const axisAttr = ctx.attrInt("axis", legacy ? 1 : -1);
  if (failed()) return;
  // a 0-D input behaves like rank 1 for the axis range check in onnxruntime; keep ONNX: rank >= 1
  if (r == 0) return ctx.error("input must have rank >= 1");
  let outer: i32, len: i32, inner: i32;
  if (legacy) {
    // axis may equal rank for the 2-D coercion ([N, 1]) only in theory; ONNX allows [-r, r-1]
    const axis = ctx.axis(axisAttr, r, "axis");
    if (failed()) return;
    outer = product(x.dims, 0, axis);
    len = product(x.dims, axis, r);
    inner = 1;
  } else {
    const axis = ctx.axis(axisAttr, r, "axis");
    if (failed()) return;
    outer = product(x.dims, 0, axis);
    len = x.dims[axis];
    inner = product(x.dims, axis + 1, r);
  }
  const out = newTensor(FLOAT, x.dims, "output of " + ctx.label());
  if (out === null) return;
  if (x.size == 0) return ctx.setOutput(0, out);
  const pi = x.ptr;
  const po = out.ptr;
  const step = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base: usize = ((<usize>o * <usize>len * <usize>inner) + <usize>j) << 2;
      let m: f32 = -Infinity;
      for (let k = 0; k < len; k++) m = max(m, load<f32>(pi + base + <usize>k * step));
      let sum: f32 = 0;
      if (log) {
        for (let k = 0; k < len; k++) sum += Mathf.exp(load<f32>(pi + base + <usize>k * step) - m);
        const ls = Mathf.log(sum);
        for (let k = 0; k < len; k++) {
          const p = <usize>k * step;
          store<f32>(po + base + p, load<f32>(pi + base + p) - m - ls);
        }
      } else {
        for (let k = 0; k < len; k++) {
          const p = <usize>k * step;
          const e = Mathf.exp(load<f32>(pi + base + p) - m);
          store<f32>(po + base + p, e);
          sum += e;
        }
        const s = <f32>1 / sum;
        for (let k = 0; k < len; k++) {
          const p = <usize>k * step;
          store<f32>(po + base + p, load<f32>(po + base + p) * s);
        }
      }
    }
  }
  ctx.setOutput(0, out);
}

export function hardmaxOp(ctx: OpContext): void {
  const x = ctx.float(0, "input");
  if (x === null) return;
  const r = x.rank;
  const legacy = ctx.opset < 13;
  const axisAttr = ctx.attrInt("axis", legacy ? 1 : -1);
  if (failed()) return;
  if (r == 0) return ctx.error("input must have rank >= 1");
  const axis = ctx.axis(axisAttr, r, "axis");
  if (failed()) return;
  const outer = product(x.dims, 0, axis);
  const len = legacy ? product(x.dims, axis, r) : x.dims[axis];
  const inner = legacy ? 1 : product(x.dims, axis + 1, r);
  const out = newTensor(FLOAT, x.dims, "output of " + ctx.label());
  if (out === null) return;
  if (x.size == 0) return ctx.setOutput(0, out);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * len * inner + j;
      let best = 0;
      let bv = x.getF32(base);
      for (let k = 1; k < len; k++) {
        const v = x.getF32(base + k * inner);
        if (v > bv) {
          bv = v;
          best = k;
        }
      }
      store<f32>(out.ptr + (<usize>(base + best * inner) << 2), 1);
    }
  }
  ctx.setOutput(0, out);
}
