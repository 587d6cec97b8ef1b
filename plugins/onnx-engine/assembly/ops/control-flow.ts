// Control flow: If, Loop and Scan run their subgraphs (subgraph.ts) in a scope nested in the
// node's own, so a body reads outer values by name. Every tensor a subgraph returns comes
// back held; each is dropped as soon as it is no longer needed (a loop-carried value after
// the next iteration has read it, a scan slice after it is copied), so a long loop does not
// grow memory, and a node's final outputs are handed to its scope with deferDrop.
import { failed, modelError, unsupported } from "../errors";
import { ATTR_INT, Graph, Node } from "../onnx/model";
import { Scope } from "../scope";
import { graphAttr, runSubgraph } from "../subgraph";
import { BOOL, FLOAT, INT64, Tensor, dimsToString, elementSize, newTensor, product, typeName } from "../tensor";
import { isTensorValue, valueKindName } from "../values";
import { OpContext } from "./context";

function label(n: Node): string {
  return n.opType + " (" + n.label() + ")";
}

function signatureError(n: Node, msg: string, where: string): bool {
  modelError(label(n) + ": " + msg + where);
  return false;
}

function scanInputCount(n: Node, where: string): i32 {
  const a = n.attr("num_scan_inputs");
  if (a === null || a.type != ATTR_INT) {
    signatureError(n, "needs the INT attribute num_scan_inputs", where);
    return -1;
  }
  if (a.i < 1 || a.i > <i64>n.inputs.length) {
    signatureError(n, "num_scan_inputs " + a.i.toString() + " is out of range for " + n.inputs.length.toString() + " inputs", where);
    return -1;
  }
  return <i32>a.i;
}

/**
 * Checks a control-flow node against its subgraphs before anything runs: the attributes
 * exist and the subgraphs take and return as many values as the node passes and expects.
 * Other nodes pass.
 */
export function checkControlFlowNode(n: Node, opset: i32, where: string): bool {
  if (n.domain != "" && n.domain != "ai.onnx") return true;
  const op = n.opType;
  if (op == "If") {
    const a = graphAttr(n, "then_branch");
    if (a === null) return false;
    const b = graphAttr(n, "else_branch");
    if (b === null) return false;
    if (n.inputs.length != 1 || n.inputs[0].length == 0) return signatureError(n, "needs exactly one input (cond)", where);
    if (a.inputs.length != 0 || b.inputs.length != 0) return signatureError(n, "branches must not declare inputs", where);
    if (a.outputs.length != n.outputs.length || b.outputs.length != n.outputs.length) {
      return signatureError(n, "has " + n.outputs.length.toString() + " outputs, then_branch " + a.outputs.length.toString() + " and else_branch " + b.outputs.length.toString(), where);
    }
  } else if (op == "Loop") {
    const body = graphAttr(n, "body");
    if (body === null) return false;
    if (n.inputs.length < 2) return signatureError(n, "needs inputs M and cond (either may be empty)", where);
    const carried = n.inputs.length - 2;
    for (let k = 2; k < n.inputs.length; k++) if (n.inputs[k].length == 0) return signatureError(n, "loop-carried input " + (k - 2).toString() + " is empty", where);
    if (body.inputs.length != carried + 2) {
      return signatureError(n, "body takes " + body.inputs.length.toString() + " inputs, expected 2 + " + carried.toString() + " loop-carried", where);
    }
    if (body.outputs.length < carried + 1) {
      return signatureError(n, "body returns " + body.outputs.length.toString() + " outputs, expected cond + " + carried.toString() + " loop-carried + scan outputs", where);
    }
    if (n.outputs.length > body.outputs.length - 1) {
      return signatureError(n, "has " + n.outputs.length.toString() + " outputs, its body yields " + (body.outputs.length - 1).toString(), where);
    }
  } else if (op == "Scan") {
    const body = graphAttr(n, "body");
    if (body === null) return false;
    const m = scanInputCount(n, where);
    if (m < 0) return false;
    const first = opset < 9 ? 1 : 0; // opset 8: sequence_lens comes first
    const states = n.inputs.length - first - m;
    if (states < 0) return signatureError(n, "has fewer inputs than num_scan_inputs", where);
    if (body.inputs.length != states + m) {
      return signatureError(n, "body takes " + body.inputs.length.toString() + " inputs, expected " + states.toString() + " state + " + m.toString() + " scan inputs", where);
    }
    if (body.outputs.length < states) return signatureError(n, "body returns fewer outputs than the " + states.toString() + " state variables", where);
    if (n.outputs.length > body.outputs.length) {
      return signatureError(n, "has " + n.outputs.length.toString() + " outputs, its body yields " + body.outputs.length.toString(), where);
    }
  }
  return true;
}

function scopeOf(ctx: OpContext): Scope {
  return changetype<Scope>(ctx.scope); // runNode always sets it
}

/** The one value of a single-element bool tensor (cond), or -1 with an error. */
function boolValue(ctx: OpContext, t: Tensor, what: string): i32 {
  if (t.dtype != BOOL) {
    ctx.error(what + " must be bool, is " + typeName(t.dtype));
    return -1;
  }
  if (t.size != 1) {
    ctx.error(what + " must have one element, has shape " + dimsToString(t.dims));
    return -1;
  }
  return load<u8>(t.ptr) != 0 ? 1 : 0;
}

function scalarI64(v: i64): Tensor {
  const t = new Tensor(INT64, new Array<i32>(), 1, new ArrayBuffer(8));
  store<i64>(t.ptr, v);
  return t;
}

function scalarBool(v: bool): Tensor {
  const t = new Tensor(BOOL, new Array<i32>(), 1, new ArrayBuffer(1));
  store<u8>(t.ptr, v ? 1 : 0);
  return t;
}

/** Hands subgraph results (held) to the node's outputs. */
function emit(ctx: OpContext, k: i32, t: Tensor): void {
  ctx.setOutput(k, t);
  scopeOf(ctx).deferDrop(t);
}

export function ifOp(ctx: OpContext): void {
  const cond = ctx.input(0, "cond");
  if (cond === null) return;
  const c = boolValue(ctx, cond, "cond");
  if (c < 0) return;
  const branch = c == 1 ? "then_branch" : "else_branch";
  const g = graphAttr(ctx.node, branch);
  if (g === null) return;
  const outs = runSubgraph(g, scopeOf(ctx), new Array<Tensor>(), ctx.opset, branch + " of " + ctx.label());
  if (outs === null) return;
  for (let k = 0; k < outs.length; k++) emit(ctx, k, outs[k]);
}

/** Output shape and type of a scan output that got no iteration: [0, declared dims (symbolic -> 0)], as onnxruntime makes it. */
function emptyScanOutput(ctx: OpContext, body: Graph, index: i32, axis: i32): Tensor | null {
  const v = body.outputs[index];
  const dims = new Array<i32>();
  for (let i = 0; i < v.dims.length; i++) dims.push(v.dims[i] < 0 ? 0 : <i32>min<i64>(v.dims[i], 0x7fffffff));
  const at = axis < 0 ? 0 : min(axis, dims.length);
  dims.push(0);
  for (let i = dims.length - 1; i > at; i--) dims[i] = dims[i - 1];
  dims[at] = 0;
  const dtype = v.elemType != 0 ? v.elemType : FLOAT;
  if (elementSize(dtype) == 0) {
    unsupported("data type " + typeName(dtype) + " for scan output " + v.name + " of " + ctx.label());
    return null;
  }
  return newTensor(dtype, dims, "output " + v.name + " of " + ctx.label());
}

/**
 * Stacks same-shaped slices into one tensor along a new axis: parts[i] lands at position
 * pos(i) (reversed when `reverse`), the new axis has length `len` (>= parts.length; the
 * rest stays zero).
 */
function stack(ctx: OpContext, parts: Array<Tensor>, axis: i32, reverse: bool, len: i32, what: string): Tensor | null {
  const first = parts[0];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (!isTensorValue(p)) {
      ctx.error(what + " is " + valueKindName(p) + ", expected a tensor");
      return null;
    }
    if (p.dtype != first.dtype || dimsToString(p.dims) != dimsToString(first.dims)) {
      ctx.error(what + " is " + typeName(p.dtype) + " " + dimsToString(p.dims) + " in iteration " + i.toString() + " but " + typeName(first.dtype) + " " + dimsToString(first.dims) + " in iteration 0");
      return null;
    }
  }
  const r = first.rank;
  if (axis < 0 || axis > r) {
    ctx.error(what + " axis is out of range for rank " + (r + 1).toString());
    return null;
  }
  const dims = first.dims.slice(0);
  dims.push(0);
  for (let i = dims.length - 1; i > axis; i--) dims[i] = dims[i - 1];
  dims[axis] = len;
  const out = newTensor(first.dtype, dims, what + " of " + ctx.label());
  if (out === null) return null;
  const es = <usize>elementSize(first.dtype);
  const outer = product(first.dims, 0, axis);
  const inner = <usize>product(first.dims, axis, r) * es;
  for (let i = 0; i < parts.length; i++) {
    const pos = <usize>(reverse ? parts.length - 1 - i : i);
    const src = parts[i].ptr;
    for (let o = 0; o < outer; o++) {
      memory.copy(out.ptr + ((<usize>o * <usize>len + pos) * inner), src + <usize>o * inner, inner);
    }
  }
  return out;
}

export function loopOp(ctx: OpContext): void {
  const n = ctx.node;
  const scope = scopeOf(ctx);
  const body = graphAttr(n, "body");
  if (body === null) return;
  let maxTrips: i64 = i64.MAX_VALUE;
  const m = ctx.optional(0);
  if (m !== null) {
    if (m.dtype != INT64 || m.size != 1) return ctx.error("M must be one int64, is " + typeName(m.dtype) + " " + dimsToString(m.dims));
    maxTrips = m.getI64(0);
  }
  let cond = true;
  const c = ctx.optional(1);
  if (c !== null) {
    const v = boolValue(ctx, c, "cond");
    if (v < 0) return;
    cond = v == 1;
  }
  const carriedCount = n.inputs.length - 2;
  const scanCount = body.outputs.length - 1 - carriedCount;
  let carried = new Array<Tensor>(carriedCount);
  for (let k = 0; k < carriedCount; k++) {
    const t = ctx.input(2 + k, "v_initial");
    if (t === null) return;
    carried[k] = t;
    scope.hold(t);
  }
  const scans = new Array<Array<Tensor>>(scanCount);
  for (let k = 0; k < scanCount; k++) scans[k] = new Array<Tensor>();
  const what = "body of " + ctx.label();
  let i: i64 = 0;
  while (i < maxTrips && cond) {
    const ins = new Array<Tensor>(carriedCount + 2);
    ins[0] = scalarI64(i);
    ins[1] = scalarBool(cond);
    for (let k = 0; k < carriedCount; k++) ins[2 + k] = carried[k];
    const outs = runSubgraph(body, scope, ins, ctx.opset, what);
    if (outs === null) return;
    for (let k = 0; k < carriedCount; k++) scope.drop(carried[k]);
    const v = boolValue(ctx, outs[0], "the body's cond output");
    scope.drop(outs[0]);
    if (v < 0) return;
    cond = v == 1;
    const next = new Array<Tensor>(carriedCount);
    for (let k = 0; k < carriedCount; k++) next[k] = outs[1 + k];
    carried = next;
    for (let k = 0; k < scanCount; k++) scans[k].push(outs[1 + carriedCount + k]);
    i++;
  }
  for (let k = 0; k < carriedCount; k++) {
    if (k < n.outputs.length) emit(ctx, k, carried[k]);
    else scope.drop(carried[k]);
  }
  for (let k = 0; k < scanCount; k++) {
    const parts = scans[k];
    let out: Tensor | null;
    if (parts.length == 0) out = emptyScanOutput(ctx, body, 1 + carriedCount + k, 0);
    else out = stack(ctx, parts, 0, false, parts.length, "scan output " + body.outputs[1 + carriedCount + k].name);
    for (let p = 0; p < parts.length; p++) scope.drop(parts[p]);
    if (out === null) return;
    ctx.setOutput(carriedCount + k, out);
  }
}

/** Integer attributes of length `count` (default all `def`), each checked to be 0 or 1 when `binary`. */
function perInput(ctx: OpContext, name: string, count: i32, def: i64, binary: bool): Array<i64> | null {
  const a = ctx.attrInts(name);
  if (failed()) return null;
  const out = new Array<i64>(count);
  if (a === null) {
    for (let i = 0; i < count; i++) out[i] = def;
    return out;
  }
  if (a.length != count) {
    ctx.error("attribute " + name + " has " + a.length.toString() + " values, expected " + count.toString());
    return null;
  }
  for (let i = 0; i < count; i++) {
    if (binary && a[i] != 0 && a[i] != 1) {
      ctx.error("attribute " + name + " must hold 0 (forward) or 1 (reverse), has " + a[i].toString());
      return null;
    }
    out[i] = a[i];
  }
  return out;
}

/** x with one index taken along `axis` (that dimension removed). */
function sliceAt(x: Tensor, axis: i32, index: i32): Tensor {
  const es = <usize>elementSize(x.dtype);
  const dims = x.dims.slice(0);
  const len = dims[axis];
  dims.splice(axis, 1);
  const outer = product(x.dims, 0, axis);
  const inner = <usize>product(x.dims, axis + 1, x.rank) * es;
  // sizes were checked when x was made, so this cannot fail
  const out = changetype<Tensor>(newTensor(x.dtype, dims, "scan slice"));
  for (let o = 0; o < outer; o++) {
    memory.copy(out.ptr + <usize>o * inner, x.ptr + ((<usize>o * <usize>len + <usize>index) * inner), inner);
  }
  return out;
}

/**
 * The Scan iterations over `steps` positions: state variables (held by the caller, released
 * here as they are replaced) and scan inputs sliced along their axes. Returns the final
 * states (held) followed by the stacked scan outputs (new tensors), or null on error.
 */
function scanLoop(
  ctx: OpContext, body: Graph, states: Array<Tensor>, scans: Array<Tensor>, inAxes: Array<i32>, inReverse: Array<bool>,
  outAxes: Array<i64>, outReverse: Array<bool>, steps: i32, outLen: i32,
): Array<Tensor> | null {
  const scope = scopeOf(ctx);
  const stateCount = states.length;
  const outCount = body.outputs.length - stateCount;
  const parts = new Array<Array<Tensor>>(outCount);
  for (let k = 0; k < outCount; k++) parts[k] = new Array<Tensor>();
  let current = states;
  const what = "body of " + ctx.label();
  for (let t = 0; t < steps; t++) {
    const ins = new Array<Tensor>(stateCount + scans.length);
    for (let k = 0; k < stateCount; k++) ins[k] = current[k];
    for (let j = 0; j < scans.length; j++) ins[stateCount + j] = sliceAt(scans[j], inAxes[j], inReverse[j] ? steps - 1 - t : t);
    const outs = runSubgraph(body, scope, ins, ctx.opset, what);
    if (outs === null) return null;
    for (let k = 0; k < stateCount; k++) scope.drop(current[k]);
    current = outs.slice(0, stateCount);
    for (let k = 0; k < outCount; k++) parts[k].push(outs[stateCount + k]);
  }
  const result = current.slice(0);
  for (let k = 0; k < outCount; k++) {
    const list = parts[k];
    const name = body.outputs[stateCount + k].name;
    const rank = list.length > 0 ? list[0].rank : body.outputs[stateCount + k].dims.length;
    const a = outAxes[k];
    if (a < -<i64>(rank + 1) || a > <i64>rank) {
      ctx.error("scan_output_axes value " + a.toString() + " is out of range for scan output " + name + " of rank " + rank.toString());
      return null;
    }
    const axis = <i32>(a < 0 ? a + rank + 1 : a);
    let out: Tensor | null;
    if (list.length == 0) out = emptyScanOutput(ctx, body, stateCount + k, axis);
    else out = stack(ctx, list, axis, outReverse[k], outLen, "scan output " + name);
    for (let p = 0; p < list.length; p++) scope.drop(list[p]);
    if (out === null) return null;
    result.push(out);
  }
  return result;
}

export function scanOp(ctx: OpContext): void {
  const n = ctx.node;
  const body = graphAttr(n, "body");
  if (body === null) return;
  const m = <i32>ctx.attrInt("num_scan_inputs", 0);
  if (failed()) return;
  if (ctx.opset < 9) return scan8(ctx, body, m);
  const scope = scopeOf(ctx);
  const stateCount = n.inputs.length - m;
  const outCount = body.outputs.length - stateCount;
  const axes = perInput(ctx, "scan_input_axes", m, 0, false);
  const dirs = perInput(ctx, "scan_input_directions", m, 0, true);
  const outAxes = perInput(ctx, "scan_output_axes", outCount, 0, false);
  const outDirs = perInput(ctx, "scan_output_directions", outCount, 0, true);
  if (axes === null || dirs === null || outAxes === null || outDirs === null) return;
  const scans = new Array<Tensor>(m);
  const inAxes = new Array<i32>(m);
  const inReverse = new Array<bool>(m);
  let steps = -1;
  for (let j = 0; j < m; j++) {
    const x = ctx.input(stateCount + j, "scan input");
    if (x === null) return;
    const axis = ctx.axis(axes[j], x.rank, "scan_input_axes value");
    if (failed()) return;
    const len = x.dims[axis];
    if (steps >= 0 && len != steps) return ctx.error("scan inputs have different lengths along their scan axes (" + steps.toString() + " and " + len.toString() + ")");
    steps = len;
    scans[j] = x;
    inAxes[j] = axis;
    inReverse[j] = dirs[j] == 1;
  }
  const states = new Array<Tensor>(stateCount);
  for (let k = 0; k < stateCount; k++) {
    const t = ctx.input(k, "initial state");
    if (t === null) return;
    states[k] = t;
    scope.hold(t);
  }
  const outReverse = new Array<bool>(outCount);
  for (let k = 0; k < outCount; k++) outReverse[k] = outDirs[k] == 1;
  const res = scanLoop(ctx, body, states, scans, inAxes, inReverse, outAxes, outReverse, steps, steps);
  if (res === null) return;
  for (let k = 0; k < res.length; k++) {
    if (k < stateCount) {
      if (k < n.outputs.length) emit(ctx, k, res[k]);
      else scope.drop(res[k]);
    } else ctx.setOutput(k, res[k]);
  }
}

/**
 * Scan-8: inputs are [sequence_lens], states..., scan inputs..., all batched on axis 0; scan
 * inputs run along axis 1 (`directions` per scan input), each batch entry for its own length.
 */
function scan8(ctx: OpContext, body: Graph, m: i32): void {
  const n = ctx.node;
  const scope = scopeOf(ctx);
  const stateCount = n.inputs.length - 1 - m;
  const outCount = body.outputs.length - stateCount;
  const dirs = perInput(ctx, "directions", m, 0, true);
  if (dirs === null) return;
  const all = new Array<Tensor>(stateCount + m);
  let batch = -1;
  let seq = -1;
  for (let k = 0; k < stateCount + m; k++) {
    const t = ctx.input(1 + k, k < stateCount ? "initial state" : "scan input");
    if (t === null) return;
    const need = k < stateCount ? 1 : 2;
    if (t.rank < need) return ctx.error("input " + (1 + k).toString() + " must have rank >= " + need.toString() + " (batch first), has shape " + dimsToString(t.dims));
    if (batch >= 0 && t.dims[0] != batch) return ctx.error("inputs disagree on the batch size (" + batch.toString() + " and " + t.dims[0].toString() + ")");
    batch = t.dims[0];
    if (k >= stateCount) {
      if (seq >= 0 && t.dims[1] != seq) return ctx.error("scan inputs have different sequence lengths (" + seq.toString() + " and " + t.dims[1].toString() + ")");
      seq = t.dims[1];
    }
    all[k] = t;
  }
  const lens = ctx.optional(0);
  if (lens !== null) {
    if (lens.dtype != INT64) return ctx.unsupportedType(lens, "sequence_lens");
    if (lens.size != batch) return ctx.error("sequence_lens has " + lens.size.toString() + " values for batch " + batch.toString());
    for (let b = 0; b < batch; b++) {
      const l = lens.getI64(b);
      // onnxruntime refuses a length of 0 too
      if (l < 1 || l > <i64>seq) return ctx.error("sequence_lens[" + b.toString() + "] = " + l.toString() + " is outside [1, " + seq.toString() + "]");
    }
  }
  const inAxes = new Array<i32>(m);
  const inReverse = new Array<bool>(m);
  for (let j = 0; j < m; j++) {
    inAxes[j] = 0;
    inReverse[j] = dirs[j] == 1;
  }
  const outAxes = new Array<i64>(outCount);
  const outReverse = new Array<bool>(outCount);
  const results = new Array<Array<Tensor>>(outCount + stateCount);
  for (let k = 0; k < results.length; k++) results[k] = new Array<Tensor>();
  for (let b = 0; b < batch; b++) {
    const states = new Array<Tensor>(stateCount);
    for (let k = 0; k < stateCount; k++) {
      states[k] = sliceAt(all[k], 0, b);
      scope.hold(states[k]);
    }
    const scans = new Array<Tensor>(m);
    for (let j = 0; j < m; j++) scans[j] = sliceAt(all[stateCount + j], 0, b);
    const steps = lens !== null ? <i32>lens.getI64(b) : seq;
    // a shorter sequence runs over its first `steps` positions (reverse: backwards from steps - 1)
    const trimmed = new Array<Tensor>(m);
    for (let j = 0; j < m; j++) trimmed[j] = steps == seq ? scans[j] : leading(scans[j], steps);
    const res = scanLoop(ctx, body, states, trimmed, inAxes, inReverse, outAxes, outReverse, steps, seq);
    if (res === null) return;
    for (let k = 0; k < res.length; k++) results[k].push(res[k]);
  }
  for (let k = 0; k < stateCount + outCount; k++) {
    if (k >= n.outputs.length) {
      if (k < stateCount) for (let b = 0; b < results[k].length; b++) scope.drop(results[k][b]);
      continue;
    }
    if (batch == 0) {
      const out = emptyScanOutput(ctx, body, k, 0);
      if (out === null) return;
      ctx.setOutput(k, out);
      continue;
    }
    const out = stack(ctx, results[k], 0, false, batch, k < stateCount ? "final state" : "scan output " + body.outputs[k].name);
    if (k < stateCount) for (let b = 0; b < results[k].length; b++) scope.drop(results[k][b]);
    if (out === null) return;
    ctx.setOutput(k, out);
  }
}

/** The first `count` entries of x along axis 0. */
function leading(x: Tensor, count: i32): Tensor {
  const dims = x.dims.slice(0);
  dims[0] = count;
  const out = changetype<Tensor>(newTensor(x.dtype, dims, "scan input"));
  memory.copy(out.ptr, x.ptr, <usize>out.byteLength);
  return out;
}
