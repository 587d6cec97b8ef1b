// Recurrent layers: RNN, GRU and LSTM, as onnxruntime computes them. Every direction
// (forward, reverse, bidirectional), the activation lists (with alpha/beta), clip,
// input_forget (LSTM), linear_before_reset (GRU), layout 0/1, the optional inputs (B,
// sequence_lens, initial_h, initial_c, P) and outputs (Y, Y_h, Y_c).
//
// The input projection X·Wᵀ + Wb (+ Rb) of all time steps is one SIMD GEMM per direction;
// each time step then adds H·Rᵀ per batch row (sgemm with one row takes its allocation-free
// dot-product path) and applies the gates in place in scratch buffers made once per node.
import { failed } from "../errors";
import { FLOAT, INT32, INT64, Tensor, dimsToString, newTensor } from "../tensor";
import { OpContext } from "./context";
import { sgemm } from "./gemm";

export const RNN: i32 = 0;
export const GRU: i32 = 1;
export const LSTM: i32 = 2;

// activation functions
const A_RELU: i32 = 0;
const A_TANH: i32 = 1;
const A_SIGMOID: i32 = 2;
const A_AFFINE: i32 = 3;
const A_LEAKY_RELU: i32 = 4;
const A_THRESHOLDED_RELU: i32 = 5;
const A_SCALED_TANH: i32 = 6;
const A_HARD_SIGMOID: i32 = 7;
const A_ELU: i32 = 8;
const A_SOFTSIGN: i32 = 9;
const A_SOFTPLUS: i32 = 10;

class Activation {
  constructor(public kind: i32, public alpha: f32, public beta: f32) {}
}

// @ts-ignore: decorator
@inline function sigmoid(x: f32): f32 {
  if (x >= 0) return <f32>1 / (<f32>1 + Mathf.exp(-x));
  const e = Mathf.exp(x);
  return e / (<f32>1 + e);
}

/** Applies the activation in place to n floats at p. */
function activate(a: Activation, p: usize, n: i32): void {
  const end = p + (<usize>n << 2);
  const alpha = a.alpha;
  const beta = a.beta;
  switch (a.kind) {
    case A_RELU: for (; p < end; p += 4) store<f32>(p, max(load<f32>(p), <f32>0)); break;
    case A_TANH: for (; p < end; p += 4) store<f32>(p, Mathf.tanh(load<f32>(p))); break;
    case A_SIGMOID: for (; p < end; p += 4) store<f32>(p, sigmoid(load<f32>(p))); break;
    case A_AFFINE: for (; p < end; p += 4) store<f32>(p, alpha * load<f32>(p) + beta); break;
    case A_LEAKY_RELU: for (; p < end; p += 4) { const x = load<f32>(p); store<f32>(p, x >= 0 ? x : alpha * x); } break;
    case A_THRESHOLDED_RELU: for (; p < end; p += 4) { const x = load<f32>(p); store<f32>(p, x > alpha ? x : 0); } break;
    case A_SCALED_TANH: for (; p < end; p += 4) store<f32>(p, alpha * Mathf.tanh(beta * load<f32>(p))); break;
    case A_HARD_SIGMOID: for (; p < end; p += 4) store<f32>(p, max(<f32>0, min(<f32>1, alpha * load<f32>(p) + beta))); break;
    case A_ELU: for (; p < end; p += 4) { const x = load<f32>(p); store<f32>(p, x >= 0 ? x : alpha * (Mathf.exp(x) - 1)); } break;
    case A_SOFTSIGN: for (; p < end; p += 4) { const x = load<f32>(p); store<f32>(p, x / (<f32>1 + Mathf.abs(x))); } break;
    case A_SOFTPLUS: for (; p < end; p += 4) { const x = load<f32>(p); store<f32>(p, x > 20 ? x : Mathf.log(<f32>1 + Mathf.exp(x))); } break;
  }
}

/** Clamps n floats at p to [-clip, clip] (clip <= 0: no clipping). */
function clamp(p: usize, n: i32, clip: f32): void {
  if (clip <= 0) return;
  const end = p + (<usize>n << 2);
  for (; p < end; p += 4) store<f32>(p, min(clip, max(-clip, load<f32>(p))));
}

/** dst[i] += src[i] */
function addTo(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

/**
 * onnxruntime's reading of the activation lists: names are case-insensitive; each function
 * that takes alpha (and beta) consumes the next value of activation_alpha (activation_beta);
 * when a list is exhausted LeakyRelu, HardSigmoid and Elu fall back to their operator
 * defaults and the others (Affine, ScaledTanh, ThresholdedRelu) to 0, as onnxruntime does.
 */
function parseActivations(ctx: OpContext, perDirection: i32, directions: i32, defaults: Array<string>): Array<Activation> | null {
  const names = ctx.attrStrings("activations");
  const alphas = ctx.attrFloats("activation_alpha");
  const betas = ctx.attrFloats("activation_beta");
  if (failed()) return null;
  const want = perDirection * directions;
  let list: Array<string>;
  if (names === null) {
    list = new Array<string>();
    for (let d = 0; d < directions; d++) for (let k = 0; k < perDirection; k++) list.push(defaults[k]);
  } else {
    list = names;
    if (list.length != want) {
      ctx.error("activations has " + list.length.toString() + " entries, expected " + want.toString() + " (" + perDirection.toString() + " per direction)");
      return null;
    }
  }
  let ai = 0;
  let bi = 0;
  const out = new Array<Activation>();
  for (let i = 0; i < list.length; i++) {
    const name = list[i].toLowerCase();
    let kind = -1;
    let usesAlpha = false;
    let usesBeta = false;
    let alpha: f32 = 0;
    let beta: f32 = 0;
    if (name == "relu") kind = A_RELU;
    else if (name == "tanh") kind = A_TANH;
    else if (name == "sigmoid") kind = A_SIGMOID;
    else if (name == "affine") { kind = A_AFFINE; usesAlpha = true; usesBeta = true; }
    else if (name == "leakyrelu") { kind = A_LEAKY_RELU; usesAlpha = true; alpha = 0.01; }
    else if (name == "thresholdedrelu") { kind = A_THRESHOLDED_RELU; usesAlpha = true; }
    else if (name == "scaledtanh") { kind = A_SCALED_TANH; usesAlpha = true; usesBeta = true; }
    else if (name == "hardsigmoid") { kind = A_HARD_SIGMOID; usesAlpha = true; usesBeta = true; alpha = 0.2; beta = 0.5; }
    else if (name == "elu") { kind = A_ELU; usesAlpha = true; alpha = 1; }
    else if (name == "softsign") kind = A_SOFTSIGN;
    else if (name == "softplus") kind = A_SOFTPLUS;
    if (kind < 0) {
      ctx.unsupportedAttr("activations", list[i]);
      return null;
    }
    if (usesAlpha && alphas !== null && ai < alphas.length) alpha = alphas[ai++];
    if (usesBeta && betas !== null && bi < betas.length) beta = betas[bi++];
    out.push(new Activation(kind, alpha, beta));
  }
  return out;
}

/** Checks t's shape; false (with an error) when it differs. */
function expectShape(ctx: OpContext, t: Tensor, dims: Array<i32>, name: string): bool {
  if (dimsToString(t.dims) == dimsToString(dims)) return true;
  ctx.error(name + " has shape " + dimsToString(t.dims) + ", expected " + dimsToString(dims));
  return false;
}

/** Everything one recurrent node needs, decoded and checked once. */
class Layer {
  kind: i32 = RNN;
  gates: i32 = 1;
  seq: i32 = 0;
  batch: i32 = 0;
  inputSize: i32 = 0;
  hidden: i32 = 0;
  directions: i32 = 1;
  reverseOnly: bool = false;
  batchFirst: bool = false;
  clip: f32 = 0;
  inputForget: bool = false;
  linearBeforeReset: bool = false;
  acts: Array<Activation> = new Array<Activation>();
  x: Tensor | null = null;
  w: Tensor | null = null;
  r: Tensor | null = null;
  b: Tensor | null = null;
  h0: Tensor | null = null;
  c0: Tensor | null = null;
  p: Tensor | null = null;
  lens: Array<i32> = new Array<i32>();
  y: Tensor | null = null;
  yh: Tensor | null = null;
  yc: Tensor | null = null;
}

export function recurrentOp(ctx: OpContext, kind: i32): void {
  const L = new Layer();
  L.kind = kind;
  L.gates = kind == LSTM ? 4 : kind == GRU ? 3 : 1;
  const x = ctx.float(0, "X");
  const w = ctx.float(1, "W");
  const r = ctx.float(2, "R");
  if (x === null || w === null || r === null) return;
  const b = ctx.optFloat(3, "B");
  const lens = ctx.optional(4);
  const h0 = ctx.optFloat(5, "initial_h");
  const c0 = kind == LSTM ? ctx.optFloat(6, "initial_c") : null;
  const p = kind == LSTM ? ctx.optFloat(7, "P") : null;
  if (failed()) return;
  const direction = ctx.attrString("direction", "forward");
  const layout = ctx.opset >= 14 ? ctx.attrInt("layout", 0) : 0;
  const hiddenAttr = ctx.attrInt("hidden_size", 0);
  L.clip = ctx.hasAttr("clip") ? ctx.attrFloat("clip", 0) : 0;
  L.inputForget = kind == LSTM && ctx.attrInt("input_forget", 0) != 0;
  L.linearBeforeReset = kind == GRU && ctx.attrInt("linear_before_reset", 0) != 0;
  if (failed()) return;
  if (direction == "forward") L.directions = 1;
  else if (direction == "reverse") {
    L.directions = 1;
    L.reverseOnly = true;
  } else if (direction == "bidirectional") L.directions = 2;
  else return ctx.error("direction must be forward, reverse or bidirectional, is " + direction);
  if (layout != 0 && layout != 1) return ctx.error("layout must be 0 or 1, is " + layout.toString());
  if (ctx.hasAttr("clip") && !(L.clip > 0)) return ctx.error("clip must be positive");
  L.batchFirst = layout == 1;
  if (x.rank != 3) return ctx.error("X must be 3-D, has shape " + dimsToString(x.dims));
  L.seq = L.batchFirst ? x.dims[1] : x.dims[0];
  L.batch = L.batchFirst ? x.dims[0] : x.dims[1];
  L.inputSize = x.dims[2];
  const D = L.directions;
  const G = L.gates;
  if (w.rank != 3 || w.dims[0] != D || w.dims[2] != L.inputSize || w.dims[1] % G != 0) {
    return ctx.error("W has shape " + dimsToString(w.dims) + ", expected [" + D.toString() + ", " + G.toString() + "*hidden_size, " + L.inputSize.toString() + "]");
  }
  L.hidden = w.dims[1] / G;
  if (hiddenAttr > 0 && <i64>L.hidden != hiddenAttr) return ctx.error("hidden_size is " + hiddenAttr.toString() + " but W has " + w.dims[1].toString() + " rows (" + G.toString() + " gates)");
  const H = L.hidden;
  if (!expectShape(ctx, r, [D, G * H, H], "R")) return;
  if (b !== null && !expectShape(ctx, b, [D, 2 * G * H], "B")) return;
  const stateDims = L.batchFirst ? [L.batch, D, H] : [D, L.batch, H];
  if (h0 !== null && !expectShape(ctx, h0, stateDims, "initial_h")) return;
  if (c0 !== null && !expectShape(ctx, c0, stateDims, "initial_c")) return;
  if (p !== null && !expectShape(ctx, p, [D, 3 * H], "P")) return;
  for (let i = 0; i < L.batch; i++) L.lens.push(L.seq);
  if (lens !== null) {
    if (lens.dtype != INT32 && lens.dtype != INT64) return ctx.unsupportedType(lens, "sequence_lens");
    if (lens.rank != 1 || lens.size != L.batch) return ctx.error("sequence_lens has shape " + dimsToString(lens.dims) + ", expected [" + L.batch.toString() + "]");
    for (let i = 0; i < L.batch; i++) {
      const v: i64 = lens.dtype == INT32 ? <i64>load<i32>(lens.ptr + (<usize>i << 2)) : lens.getI64(i);
      if (v < 0 || v > <i64>L.seq) return ctx.error("sequence_lens[" + i.toString() + "] = " + v.toString() + " is outside [0, " + L.seq.toString() + "]");
      L.lens[i] = <i32>v;
    }
  }
  const perDir = kind == LSTM ? 3 : kind == GRU ? 2 : 1;
  const defaults = kind == LSTM ? ["Sigmoid", "Tanh", "Tanh"] : kind == GRU ? ["Sigmoid", "Tanh"] : ["Tanh"];
  const acts = parseActivations(ctx, perDir, D, defaults);
  if (acts === null) return;
  L.acts = acts;
  L.x = x;
  L.w = w;
  L.r = r;
  L.b = b;
  L.h0 = h0;
  L.c0 = c0;
  L.p = p;
  const what = "output of " + ctx.label();
  if (ctx.wantsOutput(0)) {
    L.y = newTensor(FLOAT, L.batchFirst ? [L.batch, L.seq, D, H] : [L.seq, D, L.batch, H], what);
    if (L.y === null) return;
  }
  if (ctx.wantsOutput(1)) {
    L.yh = newTensor(FLOAT, stateDims, what);
    if (L.yh === null) return;
  }
  if (kind == LSTM && ctx.wantsOutput(2)) {
    L.yc = newTensor(FLOAT, stateDims, what);
    if (L.yc === null) return;
  }
  for (let d = 0; d < D; d++) {
    runDirection(ctx, L, d, L.reverseOnly || d == 1);
    if (failed()) return;
  }
  ctx.setOutput(0, L.y);
  ctx.setOutput(1, L.yh);
  if (kind == LSTM) ctx.setOutput(2, L.yc);
}

/** Offset (in floats) of [t, b] in X (row of inputSize floats). */
// @ts-ignore: decorator
@inline function xRow(L: Layer, t: i32, b: i32): i32 {
  return L.batchFirst ? b * L.seq + t : t * L.batch + b;
}

/** Offset (in floats) of direction d, batch row b of a [D, batch, H] (or [batch, D, H]) state. */
// @ts-ignore: decorator
@inline function stateRow(L: Layer, d: i32, b: i32): i32 {
  return (L.batchFirst ? b * L.directions + d : d * L.batch + b) * L.hidden;
}

/** Offset (in floats) of Y[t, d, b] (layout 0) or Y[b, t, d] (layout 1). */
// @ts-ignore: decorator
@inline function yRow(L: Layer, t: i32, d: i32, b: i32): i32 {
  const D = L.directions;
  return (L.batchFirst ? (b * L.seq + t) * D + d : (t * D + d) * L.batch + b) * L.hidden;
}

function runDirection(ctx: OpContext, L: Layer, d: i32, reverse: bool): void {
  const H = L.hidden;
  const G = L.gates;
  const GH = G * H;
  const rows = L.seq * L.batch;
  const x = changetype<Tensor>(L.x);
  const wD = changetype<Tensor>(L.w).ptr + ((<usize>d * <usize>GH * <usize>L.inputSize) << 2);
  const rD = changetype<Tensor>(L.r).ptr + ((<usize>d * <usize>GH * <usize>H) << 2);
  // input projection of every time step: xw[row] = X[row]·Wᵀ + Wb (+ Rb where it adds linearly)
  const xw = newTensor(FLOAT, [rows, GH], "input projection of " + ctx.label());
  // scratch: one batch row's recurrent product, states h and c, and GRU's r ⊙ h
  const rec = newTensor(FLOAT, [GH], "scratch of " + ctx.label());
  const h = newTensor(FLOAT, [L.batch, H], "hidden state of " + ctx.label());
  const c = newTensor(FLOAT, [L.batch, H], "cell state of " + ctx.label());
  const rh = newTensor(FLOAT, [H], "scratch of " + ctx.label());
  if (xw === null || rec === null || h === null || c === null || rh === null) return;
  sgemm(rows, GH, L.inputSize, 1, x.ptr, false, wD, true, xw.ptr);
  // the GRU's hidden-gate recurrence bias Rbh sits inside r ⊙ (...) with linear_before_reset
  const bias = L.b;
  let rb: usize = 0;
  if (bias !== null) {
    const wb = bias.ptr + ((<usize>d * 2 * <usize>GH) << 2);
    rb = wb + (<usize>GH << 2);
    const linearGates = L.linearBeforeReset ? 2 * H : GH;
    for (let row = 0; row < rows; row++) {
      const o = xw.ptr + ((<usize>row * <usize>GH) << 2);
      addTo(o, wb, GH);
      addTo(o, rb, linearGates);
    }
  }
  const h0 = L.h0;
  const c0 = L.c0;
  for (let b = 0; b < L.batch; b++) {
    if (h0 !== null) memory.copy(h.ptr + ((<usize>b * <usize>H) << 2), h0.ptr + (<usize>stateRow(L, d, b) << 2), <usize>H << 2);
    if (c0 !== null) memory.copy(c.ptr + ((<usize>b * <usize>H) << 2), c0.ptr + (<usize>stateRow(L, d, b) << 2), <usize>H << 2);
  }
  const perDir = L.kind == LSTM ? 3 : L.kind == GRU ? 2 : 1;
  const f = L.acts[d * perDir];
  const g = perDir > 1 ? L.acts[d * perDir + 1] : f;
  const hAct = perDir > 2 ? L.acts[d * perDir + 2] : f;
  const p = L.p;
  const pD: usize = p !== null ? p.ptr + ((<usize>d * 3 * <usize>H) << 2) : 0;
  const y = L.y;
  const clip = L.clip;
  const hb = <usize>H << 2;
  for (let step = 0; step < L.seq; step++) {
    for (let b = 0; b < L.batch; b++) {
      const len = L.lens[b];
      if (step >= len) continue; // past this row's sequence: Y stays 0, the state is kept
      const t = reverse ? len - 1 - step : step;
      const gates = xw.ptr + ((<usize>xRow(L, t, b) * <usize>GH) << 2);
      const hp = h.ptr + (<usize>b * hb);
      const cp = c.ptr + (<usize>b * hb);
      if (L.kind == RNN) {
        sgemm(1, H, H, 1, hp, false, rD, true, gates);
        clamp(gates, H, clip);
        activate(f, gates, H);
        memory.copy(hp, gates, hb);
      } else if (L.kind == GRU) {
        // gates z, r, h~ at offsets 0, H, 2H
        const pz = gates;
        const pr = gates + hb;
        const ph = gates + 2 * hb;
        sgemm(1, 2 * H, H, 1, hp, false, rD, true, gates);
        clamp(pz, 2 * H, clip);
        activate(f, pz, 2 * H);
        const rhD = rD + ((2 * <usize>H * <usize>H) << 2);
        if (L.linearBeforeReset) {
          // h~ = g(Xh·Whᵀ + Wbh + r ⊙ (H·Rhᵀ + Rbh))
          memory.fill(rec.ptr, 0, hb);
          sgemm(1, H, H, 1, hp, false, rhD, true, rec.ptr);
          if (rb != 0) addTo(rec.ptr, rb + 2 * hb, H);
          for (let i = 0; i < H; i++) {
            const o = <usize>i << 2;
            store<f32>(ph + o, load<f32>(ph + o) + load<f32>(pr + o) * load<f32>(rec.ptr + o));
          }
        } else {
          // h~ = g(Xh·Whᵀ + (r ⊙ H)·Rhᵀ + Rbh + Wbh)
          for (let i = 0; i < H; i++) {
            const o = <usize>i << 2;
            store<f32>(rh.ptr + o, load<f32>(pr + o) * load<f32>(hp + o));
          }
          sgemm(1, H, H, 1, rh.ptr, false, rhD, true, ph);
        }
        clamp(ph, H, clip);
        activate(g, ph, H);
        for (let i = 0; i < H; i++) {
          const o = <usize>i << 2;
          const z = load<f32>(pz + o);
          store<f32>(hp + o, (<f32>1 - z) * load<f32>(ph + o) + z * load<f32>(hp + o));
        }
      } else {
        // gates i, o, f, c at offsets 0, H, 2H, 3H; peepholes P = [Pi, Po, Pf]
        const pi = gates;
        const po = gates + hb;
        const pf = gates + 2 * hb;
        const pc = gates + 3 * hb;
        sgemm(1, GH, H, 1, hp, false, rD, true, gates);
        if (pD != 0) {
          for (let i = 0; i < H; i++) {
            const o = <usize>i << 2;
            const cprev = load<f32>(cp + o);
            store<f32>(pi + o, load<f32>(pi + o) + load<f32>(pD + o) * cprev);
            store<f32>(pf + o, load<f32>(pf + o) + load<f32>(pD + 2 * hb + o) * cprev);
          }
        }
        clamp(pi, H, clip);
        activate(f, pi, H);
        if (L.inputForget) {
          for (let i = 0; i < H; i++) store<f32>(pf + (<usize>i << 2), <f32>1 - load<f32>(pi + (<usize>i << 2)));
        } else {
          clamp(pf, H, clip);
          activate(f, pf, H);
        }
        clamp(pc, H, clip);
        activate(g, pc, H);
        for (let i = 0; i < H; i++) {
          const o = <usize>i << 2;
          store<f32>(cp + o, load<f32>(pf + o) * load<f32>(cp + o) + load<f32>(pi + o) * load<f32>(pc + o));
        }
        if (pD != 0) {
          for (let i = 0; i < H; i++) {
            const o = <usize>i << 2;
            store<f32>(po + o, load<f32>(po + o) + load<f32>(pD + hb + o) * load<f32>(cp + o));
          }
        }
        clamp(po, H, clip);
        activate(f, po, H);
        // H = o ⊙ h(C), computed in the c gate's slot
        memory.copy(pc, cp, hb);
        activate(hAct, pc, H);
        for (let i = 0; i < H; i++) {
          const o = <usize>i << 2;
          store<f32>(hp + o, load<f32>(po + o) * load<f32>(pc + o));
        }
      }
      if (y !== null) memory.copy(y.ptr + (<usize>yRow(L, t, d, b) << 2), hp, hb);
    }
  }
  const yh = L.yh;
  const yc = L.yc;
  // onnxruntime leaves Y_h and Y_c at 0 for a row of sequence length 0 (not its initial state)
  for (let b = 0; b < L.batch; b++) {
    if (L.lens[b] == 0) continue;
    if (yh !== null) memory.copy(yh.ptr + (<usize>stateRow(L, d, b) << 2), h.ptr + (<usize>b * hb), hb);
    if (yc !== null) memory.copy(yc.ptr + (<usize>stateRow(L, d, b) << 2), c.ptr + (<usize>b * hb), hb);
  }
}
