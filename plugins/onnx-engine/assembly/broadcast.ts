// ONNX broadcasting. Multidirectional (numpy) for elementwise ops; unidirectional
// (B must broadcast to A's shape) for Gemm's C and PRelu's slope.

/** The multidirectional broadcast of two shapes, or null if they are incompatible. */
export function broadcastShapes(a: Array<i32>, b: Array<i32>): Array<i32> | null {
  const r = max(a.length, b.length);
  const out = new Array<i32>(r);
  for (let i = 0; i < r; i++) {
    const ai = i - (r - a.length);
    const bi = i - (r - b.length);
    const da = ai >= 0 ? unchecked(a[ai]) : 1;
    const db = bi >= 0 ? unchecked(b[bi]) : 1;
    let d: i32;
    if (da == db) d = da;
    else if (da == 1) d = db;
    else if (db == 1) d = da;
    else return null;
    unchecked((out[i] = d));
  }
  return out;
}

/** True if `from` broadcasts unidirectionally to `to`. */
export function broadcastsTo(from: Array<i32>, to: Array<i32>): bool {
  if (from.length > to.length) return false;
  const off = to.length - from.length;
  for (let i = 0; i < from.length; i++) {
    const d = unchecked(from[i]);
    if (d != 1 && d != unchecked(to[i + off])) return false;
  }
  return true;
}

/** Element strides of `dims` laid out against `out` (0 on broadcast dimensions). */
export function broadcastStrides(dims: Array<i32>, out: Array<i32>): Array<i32> {
  const r = out.length;
  const strides = new Array<i32>(r);
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    const di = i - (r - dims.length);
    const d = di >= 0 ? unchecked(dims[di]) : 1;
    unchecked((strides[i] = d == 1 ? 0 : s));
    s *= d;
  }
  return strides;
}

/**
 * Iteration plan for an N-input broadcast: dimensions of the output, coalesced where every
 * input is contiguous across the boundary, with per-input strides. The last dimension is
 * the inner run.
 */
export class Plan {
  shape: Array<i32> = new Array<i32>();
  strides: Array<Array<i32>> = new Array<Array<i32>>();
  inner: i32 = 1;
  outer: i32 = 1;
  // odometer state
  idx: Array<i32> = new Array<i32>();
  offs: Array<i32> = new Array<i32>();

  constructor(out: Array<i32>, inputs: Array<Array<i32>>) {
    const n = inputs.length;
    const all = new Array<Array<i32>>(n);
    for (let k = 0; k < n; k++) unchecked((all[k] = broadcastStrides(unchecked(inputs[k]), out)));
    // coalesce dims i and i+1 when every input has stride[i] == stride[i+1] * out[i+1]
    const shape = new Array<i32>();
    const strides = new Array<Array<i32>>(n);
    for (let k = 0; k < n; k++) unchecked((strides[k] = new Array<i32>()));
    for (let i = 0; i < out.length; i++) {
      const d = unchecked(out[i]);
      if (d == 1) continue; // size-1 dims carry no iteration
      const last = shape.length - 1;
      let merge = last >= 0;
      if (merge) {
        for (let k = 0; k < n; k++) {
          const s = unchecked(strides[k]);
          if (unchecked(s[last]) != unchecked(unchecked(all[k])[i]) * d) {
            merge = false;
            break;
          }
        }
      }
      if (merge) {
        unchecked((shape[last] = unchecked(shape[last]) * d));
        for (let k = 0; k < n; k++) {
          const s = unchecked(strides[k]);
          unchecked((s[last] = unchecked(unchecked(all[k])[i])));
        }
      } else {
        shape.push(d);
        for (let k = 0; k < n; k++) unchecked(strides[k]).push(unchecked(unchecked(all[k])[i]));
      }
    }
    if (shape.length == 0) {
      shape.push(1);
      for (let k = 0; k < n; k++) unchecked(strides[k]).push(0);
    }
    this.shape = shape;
    this.strides = strides;
    this.inner = unchecked(shape[shape.length - 1]);
    let outer = 1;
    for (let i = 0; i < shape.length - 1; i++) outer *= unchecked(shape[i]);
    this.outer = outer;
    this.idx = new Array<i32>(shape.length);
    this.offs = new Array<i32>(n);
  }

  innerStride(k: i32): i32 {
    const s = unchecked(this.strides[k]);
    return unchecked(s[s.length - 1]);
  }

  offset(k: i32): i32 {
    return unchecked(this.offs[k]);
  }

  /** Advances the odometer over the outer dimensions by one inner run. */
  step(): void {
    const r = this.shape.length;
    const n = this.offs.length;
    for (let d = r - 2; d >= 0; d--) {
      const v = unchecked(this.idx[d]) + 1;
      if (v < unchecked(this.shape[d])) {
        unchecked((this.idx[d] = v));
        for (let k = 0; k < n; k++) unchecked((this.offs[k] = unchecked(this.offs[k]) + unchecked(unchecked(this.strides[k])[d])));
        return;
      }
      unchecked((this.idx[d] = 0));
      for (let k = 0; k < n; k++) unchecked((this.offs[k] = unchecked(this.offs[k]) - unchecked(unchecked(this.strides[k])[d]) * (v - 1)));
    }
  }
}
