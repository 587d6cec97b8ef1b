// The ai.onnx.preview.training optimizers (one update step, deterministic): Adagrad, Adam,
// Momentum (standard or Nesterov), over any number of tensors, computed in f64.
import { failed } from "../errors";
import { CLASS_FLOAT, Tensor, dimsToString, isIntegerType, newTensor, typeClass } from "../tensor";
import { OpContext } from "./context";

export const DOMAIN = "ai.onnx.preview.training";
export const ADAGRAD: i32 = 0;
export const ADAM: i32 = 1;
export const MOMENTUM: i32 = 2;

/** Per optimized tensor: X, G and the optimizer's state tensors (1 for Adagrad/Momentum, 2 for Adam). */
function stateCount(kind: i32): i32 {
  return kind == ADAM ? 2 : 1;
}

function sameAs(a: Tensor, x: Tensor): bool {
  return a.dtype == x.dtype && dimsToString(a.dims) == dimsToString(x.dims);
}

export function optimizerOp(ctx: OpContext, kind: i32): void {
  const rt = ctx.input(0, "R");
  const tt = ctx.input(1, "T");
  if (rt === null || tt === null) return;
  if (typeClass(rt.dtype) != CLASS_FLOAT || rt.size != 1) return ctx.error("R must be a float scalar");
  if (!isIntegerType(tt.dtype) || tt.size != 1) return ctx.error("T must be an integer scalar");
  const per = 2 + stateCount(kind);
  const rest = ctx.inputCount - 2;
  if (rest <= 0 || rest % per != 0) return ctx.error("expects R, T and " + per.toString() + " inputs per optimized tensor, has " + ctx.inputCount.toString());
  const n = rest / per;
  const r = rt.loadF64(0);
  const t = <f64>tt.loadI64(0);
  const norm = <f64>ctx.attrFloat("norm_coefficient", 0);
  let decay: f64 = 0, eps: f64 = 0, alpha: f64 = 0, beta: f64 = 0, post: f64 = 0;
  let nesterov = false;
  if (kind == ADAGRAD) {
    decay = <f64>ctx.attrFloat("decay_factor", 0);
    eps = <f64>ctx.attrFloat("epsilon", 1e-6);
  } else if (kind == ADAM) {
    alpha = <f64>ctx.attrFloat("alpha", 0.9);
    beta = <f64>ctx.attrFloat("beta", 0.999);
    eps = <f64>ctx.attrFloat("epsilon", 1e-6);
    post = <f64>ctx.attrFloat("norm_coefficient_post", 0);
  } else {
    if (!ctx.hasAttr("alpha") || !ctx.hasAttr("beta") || !ctx.hasAttr("mode") || !ctx.hasAttr("norm_coefficient")) return ctx.error("attributes alpha, beta, mode and norm_coefficient are required");
    alpha = <f64>ctx.attrFloat("alpha", 0);
    beta = <f64>ctx.attrFloat("beta", 0);
    const mode = ctx.attrString("mode", "standard");
    if (mode != "standard" && mode != "nesterov") return ctx.error('mode must be "standard" or "nesterov", is "' + mode + '"');
    nesterov = mode == "nesterov";
  }
  if (failed()) return;
  for (let i = 0; i < n; i++) {
    const x = ctx.input(2 + i, "X");
    const g = ctx.input(2 + n + i, "G");
    const s1 = ctx.input(2 + 2 * n + i, kind == ADAGRAD ? "H" : "V");
    const s2 = kind == ADAM ? ctx.input(2 + 3 * n + i, "H") : null;
    if (x === null || g === null || s1 === null || (kind == ADAM && s2 === null)) return;
    if (typeClass(x.dtype) != CLASS_FLOAT) return ctx.unsupportedType(x, "X");
    if (!sameAs(g, x) || !sameAs(s1, x) || (s2 !== null && !sameAs(s2, x))) return ctx.error("X, G and the state tensors must share type and shape (tensor " + i.toString() + ")");
    const xo = newTensor(x.dtype, x.dims, "X_new of " + ctx.label());
    const so = newTensor(x.dtype, x.dims, "state of " + ctx.label());
    const ho = kind == ADAM ? newTensor(x.dtype, x.dims, "H_new of " + ctx.label()) : null;
    if (xo === null || so === null || (kind == ADAM && ho === null)) return;
    for (let e = 0; e < x.size; e++) {
      const xv = x.loadF64(e);
      const gr = norm * xv + g.loadF64(e);
      if (kind == ADAGRAD) {
        const h = s1.loadF64(e) + gr * gr;
        xo.storeF64(e, xv - ((r / (1 + t * decay)) * gr) / (Math.sqrt(h) + eps));
        so.storeF64(e, h);
      } else if (kind == ADAM) {
        const v = alpha * s1.loadF64(e) + (1 - alpha) * gr;
        const h = beta * changetype<Tensor>(s2).loadF64(e) + (1 - beta) * gr * gr;
        const ra = t > 0 ? (r * Math.sqrt(1 - Math.pow(beta, t))) / (1 - Math.pow(alpha, t)) : r;
        xo.storeF64(e, (1 - post) * (xv - ra * (v / (Math.sqrt(h) + eps))));
        so.storeF64(e, v);
        changetype<Tensor>(ho).storeF64(e, h);
      } else {
        const v = alpha * s1.loadF64(e) + (t > 0 ? beta : 1) * gr;
        xo.storeF64(e, nesterov ? xv - r * (gr + alpha * v) : xv - r * v);
        so.storeF64(e, v);
      }
    }
    ctx.setOutput(i, xo);
    ctx.setOutput(n + i, so);
    if (ho !== null) ctx.setOutput(2 * n + i, ho);
  }
}
