// LRN: each value divided by (bias + alpha / size * sum of squares over `size` neighbouring
// channels) ^ beta; the window is floor((size-1)/2) channels before and ceil((size-1)/2) after.
import { failed } from "../errors";
import { FLOAT, dimsToString, newTensor, product } from "../tensor";
import { OpContext } from "./context";

export function lrnOp(ctx: OpContext): void {
  const x = ctx.float(0, "X");
  if (x === null) return;
  const alpha = ctx.attrFloat("alpha", 0.0001);
  const beta = ctx.attrFloat("beta", 0.75);
  const bias = ctx.attrFloat("bias", 1);
  if (!ctx.hasAttr("size")) return ctx.error("attribute size is required");
  const size64 = ctx.attrInt("size", 1);
  if (failed()) return;
  if (size64 < 1 || size64 > 0x7fffffff) return ctx.error("attribute size must be >= 1, is " + size64.toString());
  if (x.rank < 3) return ctx.error("X must have rank >= 3 (N, C, spatial...), has shape " + dimsToString(x.dims));
  const size = <i32>size64;
  const n = x.dims[0], c = x.dims[1];
  const inner = product(x.dims, 2, x.rank);
  const before = (size - 1) / 2;
  const after = size - 1 - before;
  const out = newTensor(FLOAT, x.dims, "output of " + ctx.label());
  if (out === null) return;
  const k: f32 = alpha / <f32>size;
  for (let b = 0; b < n; b++) {
    const base = <usize>b * <usize>c * <usize>inner;
    for (let ch = 0; ch < c; ch++) {
      const lo = max<i32>(0, ch - before);
      const hi = min<i32>(c - 1, ch + after);
      const row = x.ptr + ((base + <usize>ch * <usize>inner) << 2);
      const dst = out.ptr + ((base + <usize>ch * <usize>inner) << 2);
      for (let p = 0; p < inner; p++) {
        let sum: f32 = 0;
        for (let q = lo; q <= hi; q++) {
          const v = load<f32>(x.ptr + ((base + <usize>q * <usize>inner + <usize>p) << 2));
          sum += v * v;
        }
        store<f32>(dst + (<usize>p << 2), load<f32>(row + (<usize>p << 2)) / Mathf.pow(bias + k * sum, beta));
      }
    }
  }
  ctx.setOutput(0, out);
}
