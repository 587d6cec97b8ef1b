// NonMaxSuppression: per batch and class, boxes above score_threshold in descending score
// (ties: lower box index first), greedily kept unless their IoU with a kept box exceeds
// iou_threshold, at most max_output_boxes_per_class each (0 keeps none). Boxes are corners
// [y1, x1, y2, x2] in either diagonal order (center_point_box 0) or [xc, yc, w, h] (1); the
// geometry is f32, as in onnxruntime, so threshold decisions match it.
import { failed } from "../errors";
import { FLOAT, INT64, Tensor, dimsToString, newTensor } from "../tensor";
import { OpContext } from "./context";
import { Order, stableSort } from "./sort";

/** Scores of one batch and class, highest first (stable: lower index first on ties). */
class ByScore extends Order {
  constructor(public scores: Tensor, public base: i32) {
    super();
  }
  compare(a: i32, b: i32): i32 {
    const x = this.scores.getF32(this.base + a);
    const y = this.scores.getF32(this.base + b);
    return x > y ? -1 : x < y ? 1 : 0;
  }
}

/** Corners (min y, min x, max y, max x) of box i. */
function corners(b: Tensor, i: i32, center: bool, out: StaticArray<f32>): void {
  const p = b.ptr + (<usize>i << 4);
  const a0 = load<f32>(p);
  const a1 = load<f32>(p + 4);
  const a2 = load<f32>(p + 8);
  const a3 = load<f32>(p + 12);
  if (center) {
    // [x_center, y_center, width, height]
    out[0] = a1 - a3 / 2;
    out[1] = a0 - a2 / 2;
    out[2] = a1 + a3 / 2;
    out[3] = a0 + a2 / 2;
  } else {
    out[0] = min(a0, a2);
    out[1] = min(a1, a3);
    out[2] = max(a0, a2);
    out[3] = max(a1, a3);
  }
}

function suppresses(c: StaticArray<f32>, i: i32, j: i32, threshold: f32): bool {
  const yi0 = c[i * 4], xi0 = c[i * 4 + 1], yi1 = c[i * 4 + 2], xi1 = c[i * 4 + 3];
  const yj0 = c[j * 4], xj0 = c[j * 4 + 1], yj1 = c[j * 4 + 2], xj1 = c[j * 4 + 3];
  const ih = min(yi1, yj1) - max(yi0, yj0);
  const iw = min(xi1, xj1) - max(xi0, xj0);
  if (ih <= 0 || iw <= 0) return false;
  const inter = ih * iw;
  const ai = (yi1 - yi0) * (xi1 - xi0);
  const aj = (yj1 - yj0) * (xj1 - xj0);
  const union = ai + aj - inter;
  if (ai <= 0 || aj <= 0 || union <= 0) return false;
  return inter / union > threshold;
}

export function nonMaxSuppressionOp(ctx: OpContext): void {
  const boxes = ctx.float(0, "boxes");
  const scores = ctx.float(1, "scores");
  if (boxes === null || scores === null) return;
  const center = ctx.attrInt("center_point_box", 0);
  if (failed()) return;
  if (center != 0 && center != 1) return ctx.error("center_point_box must be 0 or 1, is " + center.toString());
  let maxOut: i64 = 0;
  let iou: f32 = 0;
  let scoreMin: f32 = -Infinity;
  const tm = ctx.optional(2);
  if (tm !== null) {
    if (tm.dtype != INT64) return ctx.unsupportedType(tm, "max_output_boxes_per_class");
    if (tm.size != 1) return ctx.error("max_output_boxes_per_class must hold one value");
    maxOut = tm.getI64(0);
  }
  const ti = ctx.optional(3);
  if (ti !== null) {
    if (ti.dtype != FLOAT) return ctx.unsupportedType(ti, "iou_threshold");
    if (ti.size != 1) return ctx.error("iou_threshold must hold one value");
    iou = ti.getF32(0);
    if (!(iou >= 0 && iou <= 1)) return ctx.error("iou_threshold must be in [0, 1], is " + iou.toString());
  }
  const ts = ctx.optional(4);
  const hasScoreMin = ts !== null;
  if (ts !== null) {
    if (ts.dtype != FLOAT) return ctx.unsupportedType(ts, "score_threshold");
    if (ts.size != 1) return ctx.error("score_threshold must hold one value");
    scoreMin = ts.getF32(0);
  }
  if (boxes.rank != 3 || boxes.dims[2] != 4) return ctx.error("boxes must have shape [batch, boxes, 4], has " + dimsToString(boxes.dims));
  const nb = boxes.dims[0];
  const n = boxes.dims[1];
  if (scores.rank != 3 || scores.dims[0] != nb || scores.dims[2] != n) return ctx.error("scores shape " + dimsToString(scores.dims) + " does not match boxes shape " + dimsToString(boxes.dims));
  const nc = scores.dims[1];
  const sel = new Array<i64>();
  const c = new StaticArray<f32>(n * 4);
  const one = new StaticArray<f32>(4);
  const kept = new Array<i32>();
  if (maxOut > 0) {
    for (let b = 0; b < nb; b++) {
      for (let i = 0; i < n; i++) {
        corners(boxes, b * n + i, center == 1, one);
        for (let q = 0; q < 4; q++) c[i * 4 + q] = one[q];
      }
      for (let k = 0; k < nc; k++) {
        const sb = (b * nc + k) * n;
        let m = 0;
        for (let i = 0; i < n; i++) if (!hasScoreMin || scores.getF32(sb + i) > scoreMin) m++;
        const cand = new StaticArray<i32>(m);
        m = 0;
        for (let i = 0; i < n; i++) if (!hasScoreMin || scores.getF32(sb + i) > scoreMin) cand[m++] = i;
        stableSort(cand, new ByScore(scores, sb));
        kept.length = 0;
        for (let x = 0; x < cand.length && <i64>kept.length < maxOut; x++) {
          const i = cand[x];
          let ok = true;
          for (let y = 0; y < kept.length && ok; y++) if (suppresses(c, kept[y], i, iou)) ok = false;
          if (!ok) continue;
          kept.push(i);
          sel.push(b);
          sel.push(k);
          sel.push(i);
        }
      }
    }
  }
  const count = sel.length / 3;
  const out = newTensor(INT64, [count, 3], "selected_indices of " + ctx.label());
  if (out === null) return;
  for (let i = 0; i < sel.length; i++) out.storeI64(i, sel[i]);
  ctx.setOutput(0, out);
}
