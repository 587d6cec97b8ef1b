// Einsum: any number of operands, repeated labels (diagonals), broadcasting ellipses, implicit
// output (ellipsis dims, then the labels used once, alphabetically). One odometer over every
// label, output labels first; floats accumulate in f64, integers exactly in i64.
import { failed } from "../errors";
import { CLASS_FLOAT, MAX_RANK, Tensor, isNumericType, newTensor, typeClass } from "../tensor";
import { OpContext } from "./context";

/** Label codes: letters are their char codes; ellipsis dims are 256 + position. */
const ELLIPSIS: i32 = 256;

/** One term's labels, with "..." expanded to `e` ellipsis codes (the last e of `total`). */
function expand(ctx: OpContext, term: string, rank: i32, total: i32, isOutput: bool): Array<i32> | null {
  const labels = new Array<i32>();
  let dots = -1;
  for (let i = 0; i < term.length; i++) {
    const ch = term.charCodeAt(i);
    if (ch == 46) {
      if (term.substr(i, 3) != "..." || dots >= 0) {
        ctx.error('malformed ellipsis in equation term "' + term + '"');
        return null;
      }
      dots = labels.length;
      labels.push(-1);
      i += 2;
    } else if ((ch >= 65 && ch <= 90) || (ch >= 97 && ch <= 122)) labels.push(ch);
    else {
      ctx.error('invalid character in equation term "' + term + '"');
      return null;
    }
  }
  const explicit = dots >= 0 ? labels.length - 1 : labels.length;
  const e = isOutput ? total : rank - explicit;
  if (!isOutput && (e < 0 || (dots < 0 && e != 0))) {
    ctx.error('equation term "' + term + '" has ' + explicit.toString() + " labels for an operand of rank " + rank.toString());
    return null;
  }
  if (dots < 0) return labels;
  const out = new Array<i32>();
  for (let i = 0; i < labels.length; i++) {
    if (i == dots) for (let k = total - e; k < total; k++) out.push(ELLIPSIS + k);
    else out.push(labels[i]);
  }
  return out;
}

function ellipsisRank(term: string, rank: i32): i32 {
  if (term.indexOf("...") < 0) return 0;
  return rank - (term.length - 3);
}

export function einsumOp(ctx: OpContext): void {
  const eq0 = ctx.attrString("equation", "");
  if (failed()) return;
  let eq = "";
  for (let i = 0; i < eq0.length; i++) if (eq0.charAt(i) != " ") eq += eq0.charAt(i);
  const n = ctx.inputCount;
  if (n == 0) return ctx.error("needs at least one input");
  const ins = new Array<Tensor>(n);
  for (let k = 0; k < n; k++) {
    const t = ctx.input(k, "Inputs");
    if (t === null) return;
    if (!isNumericType(t.dtype)) return ctx.unsupportedType(t, "Inputs");
    if (k > 0 && t.dtype != ins[0].dtype) return ctx.error("inputs have different data types");
    ins[k] = t;
  }
  const arrow = eq.indexOf("->");
  const lhs = arrow >= 0 ? eq.substr(0, arrow) : eq;
  const terms = lhs.split(",");
  if (terms.length != n) return ctx.error("equation has " + terms.length.toString() + " operands, the node " + n.toString() + " inputs");
  let total = 0;
  for (let k = 0; k < n; k++) total = max(total, ellipsisRank(terms[k], ins[k].rank));
  const opLabels = new Array<Array<i32>>(n);
  for (let k = 0; k < n; k++) {
    const l = expand(ctx, terms[k], ins[k].rank, total, false);
    if (l === null) return;
    opLabels[k] = l;
  }
  // label sizes (ellipsis dims broadcast: 1 stretches)
  const all = new Array<i32>();
  const sizes = new Array<i32>();
  const counts = new Array<i32>();
  for (let k = 0; k < n; k++) {
    const l = opLabels[k];
    for (let d = 0; d < l.length; d++) {
      const size = ins[k].dims[d];
      const at = all.indexOf(l[d]);
      if (at < 0) {
        all.push(l[d]);
        sizes.push(size);
        counts.push(1);
      } else {
        counts[at]++;
        if (sizes[at] != size) {
          if (sizes[at] == 1 && l[d] >= ELLIPSIS) sizes[at] = size;
          else if (!(size == 1 && l[d] >= ELLIPSIS)) return ctx.error("label " + String.fromCharCode(l[d]) + " has sizes " + sizes[at].toString() + " and " + size.toString());
        }
      }
    }
  }
  let outLabels: Array<i32>;
  if (arrow >= 0) {
    const o = expand(ctx, eq.substr(arrow + 2), 0, total, true);
    if (o === null) return;
    outLabels = o;
    for (let i = 0; i < o.length; i++) {
      if (all.indexOf(o[i]) < 0) return ctx.error("output label " + String.fromCharCode(o[i]) + " appears in no input");
      if (o.lastIndexOf(o[i]) != i) return ctx.error("output label " + String.fromCharCode(o[i]) + " appears twice");
    }
  } else {
    outLabels = new Array<i32>();
    for (let k = 0; k < total; k++) if (all.indexOf(ELLIPSIS + k) >= 0) outLabels.push(ELLIPSIS + k);
    const singles = new Array<i32>();
    for (let i = 0; i < all.length; i++) if (all[i] < ELLIPSIS && counts[i] == 1) singles.push(all[i]);
    singles.sort();
    for (let i = 0; i < singles.length; i++) outLabels.push(singles[i]);
  }
  if (outLabels.length > MAX_RANK) return ctx.error("output rank too large");
  // iteration order: output labels, then the summed ones
  const order = outLabels.slice(0);
  for (let i = 0; i < all.length; i++) if (order.indexOf(all[i]) < 0) order.push(all[i]);
  const L = order.length;
  const dims = new StaticArray<i32>(max(L, 1));
  for (let i = 0; i < L; i++) dims[i] = sizes[all.indexOf(order[i])];
  // per operand, the element stride of each iteration label (summed over repeats; 0 when broadcast)
  const strides = new Array<StaticArray<i32>>(n);
  for (let k = 0; k < n; k++) {
    const s = new StaticArray<i32>(max(L, 1));
    const l = opLabels[k];
    let acc = 1;
    for (let d = l.length - 1; d >= 0; d--) {
      const size = ins[k].dims[d];
      if (!(size == 1 && dims[order.indexOf(l[d])] != 1)) s[order.indexOf(l[d])] += acc;
      acc *= size;
    }
    strides[k] = s;
  }
  const outDims = new Array<i32>();
  for (let i = 0; i < outLabels.length; i++) outDims.push(dims[i]);
  const out = newTensor(ins[0].dtype, outDims, "output of " + ctx.label());
  if (out === null) return;
  let inner = 1;
  for (let i = outLabels.length; i < L; i++) inner *= dims[i];
  if (out.size == 0) return ctx.setOutput(0, out);
  const isFloat = typeClass(out.dtype) == CLASS_FLOAT;
  const idx = new StaticArray<i32>(max(L, 1));
  const offs = new StaticArray<i32>(n);
  for (let o = 0; o < out.size; o++) {
    let fsum: f64 = 0;
    let isum: i64 = 0;
    for (let r = 0; r < inner; r++) {
      if (isFloat) {
        let p: f64 = 1;
        for (let k = 0; k < n; k++) p *= ins[k].loadF64(offs[k]);
        fsum += p;
      } else {
        let p: i64 = 1;
        for (let k = 0; k < n; k++) p *= ins[k].loadI64(offs[k]);
        isum += p;
      }
      // odometer over every label (the summed ones move fastest)
      for (let d = L - 1; d >= 0; d--) {
        const v = idx[d] + 1;
        if (v < dims[d]) {
          idx[d] = v;
          for (let k = 0; k < n; k++) offs[k] += strides[k][d];
          break;
        }
        idx[d] = 0;
        for (let k = 0; k < n; k++) offs[k] -= strides[k][d] * (v - 1);
      }
    }
    if (isFloat) out.storeF64(o, fsum);
    else out.storeI64(o, isum);
  }
  ctx.setOutput(0, out);
}
