// MeanVarianceNormalization: (X - mean) / (sqrt(variance) + 1e-9) with mean and variance
// (E[X^2] - E[X]^2) taken over `axes` (default [0, 2, 3]), as the ONNX function body does.
import { failed } from "../errors";
import { FLOAT, newTensor } from "../tensor";
import { OpContext } from "./context";

export function meanVarianceNormOp(ctx: OpContext): void {
  const x = ctx.float(0, "X");
  if (x === null) return;
  const r = x.rank;
  const attr = ctx.attrInts("axes");
  if (failed()) return;
  const axes: Array<i64> = attr === null ? [0, 2, 3] : attr;
  const reduced = new StaticArray<bool>(r);
  for (let i = 0; i < axes.length; i++) {
    const a = ctx.axis(axes[i], r, "axes value");
    if (failed()) return;
    if (reduced[a]) return ctx.error("axes has axis " + a.toString() + " twice");
    reduced[a] = true;
  }
  // key stride per axis: the index of an element's group among the kept axes (0 on reduced ones)
  const keyStride = new StaticArray<i32>(r);
  let groups = 1;
  for (let d = r - 1; d >= 0; d--) {
    if (reduced[d]) continue;
    keyStride[d] = groups;
    groups *= x.dims[d];
  }
  const out = newTensor(FLOAT, x.dims, "output of " + ctx.label());
  if (out === null) return;
  if (x.size == 0) return ctx.setOutput(0, out);
  const count = x.size / groups;
  const sum = new StaticArray<f64>(groups);
  const sq = new StaticArray<f64>(groups);
  const keys = new StaticArray<i32>(x.size);
  const idx = new StaticArray<i32>(r);
  let key = 0;
  for (let e = 0; e < x.size; e++) {
    keys[e] = key;
    const v = <f64>x.getF32(e);
    sum[key] += v;
    sq[key] += v * v;
    for (let d = r - 1; d >= 0; d--) {
      const v2 = idx[d] + 1;
      if (v2 < x.dims[d]) {
        idx[d] = v2;
        key += keyStride[d];
        break;
      }
      key -= (idx[d]) * keyStride[d];
      idx[d] = 0;
    }
  }
  const mean = new StaticArray<f32>(groups);
  const inv = new StaticArray<f32>(groups);
  for (let g = 0; g < groups; g++) {
    const m = sum[g] / <f64>count;
    const variance = sq[g] / <f64>count - m * m;
    mean[g] = <f32>m;
    inv[g] = <f32>(1.0 / (Math.sqrt(variance > 0 ? variance : 0) + 1e-9));
  }
  for (let e = 0; e < x.size; e++) {
    const g = keys[e];
    store<f32>(out.ptr + (<usize>e << 2), (x.getF32(e) - mean[g]) * inv[g]);
  }
  ctx.setOutput(0, out);
}
