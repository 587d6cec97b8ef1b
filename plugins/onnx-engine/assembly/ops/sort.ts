// Stable ordering shared by the selection and detection ops: a merge sort of positions by an
// Order (AssemblyScript has no closures, so comparisons are virtual methods).
import { CLASS_FLOAT, Tensor, UINT64, typeClass } from "../tensor";

/** Three-way comparison of elements i and j of t (NaN sorts above everything, as numpy). */
export function compareElems(t: Tensor, i: i32, j: i32): i32 {
  if (typeClass(t.dtype) == CLASS_FLOAT) {
    const a = t.loadF64(i);
    const b = t.loadF64(j);
    if (a < b) return -1;
    if (a > b) return 1;
    if (a == b) return 0;
    return a != a ? (b != b ? 0 : 1) : -1;
  }
  const flip: i64 = t.dtype == UINT64 ? i64.MIN_VALUE : 0;
  const a = t.loadI64(i) ^ flip;
  const b = t.loadI64(j) ^ flip;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What a stable sort orders: positions compared by `compare`. */
export abstract class Order {
  abstract compare(a: i32, b: i32): i32;
}

/** Stable merge sort of idx by ord. */
export function stableSort(idx: StaticArray<i32>, ord: Order): void {
  const n = idx.length;
  let src = idx;
  let dst = new StaticArray<i32>(n);
  for (let w = 1; w < n; w <<= 1) {
    for (let lo = 0; lo < n; lo += w << 1) {
      const mid = min(lo + w, n);
      const hi = min(lo + (w << 1), n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) dst[k++] = ord.compare(src[j], src[i]) < 0 ? src[j++] : src[i++];
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src !== idx) for (let i = 0; i < n; i++) idx[i] = src[i];
}

