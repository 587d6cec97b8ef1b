// Sequence and optional operators: SequenceEmpty, SequenceConstruct, SequenceInsert,
// SequenceAt, SequenceErase, SequenceLength, SplitToSequence, ConcatFromSequence,
// SequenceMap (a subgraph per element), Optional, OptionalHasElement, OptionalGetElement.
// Sequences are immutable: an insert or erase makes a new sequence sharing the tensors.
import { failed, unsupported } from "../errors";
import { ATTR_INT } from "../onnx/model";
import { Scope } from "../scope";
import { graphAttr, runSubgraph } from "../subgraph";
import { BOOL, FLOAT, INT32, INT64, Tensor, dimsToString, elementSize, newTensor, product, typeName } from "../tensor";
import { OptionalValue, SequenceValue, isTensorValue, valueKindName } from "../values";
import { OpContext } from "./context";

function sequenceInput(ctx: OpContext, i: i32, name: string): SequenceValue | null {
  const t = ctx.input(i, name);
  if (t === null) return null;
  if (!(t instanceof SequenceValue)) {
    ctx.error("input " + name + " must be a sequence, is " + valueKindName(t));
    return null;
  }
  return <SequenceValue>t;
}

function tensorInput(ctx: OpContext, i: i32, name: string): Tensor | null {
  const t = ctx.input(i, name);
  if (t === null) return null;
  if (!isTensorValue(t)) {
    ctx.error("input " + name + " must be a tensor, is " + valueKindName(t));
    return null;
  }
  return t;
}

/** A scalar int32/int64 position in [-n, n) (or [-n, n] when `end` is allowed), normalized; -1 on error. */
function position(ctx: OpContext, t: Tensor, n: i32, allowEnd: bool): i32 {
  if (t.size != 1 || t.rank > 1) {
    ctx.error("position must be a scalar, has shape " + dimsToString(t.dims));
    return -1;
  }
  let p: i64;
  if (t.dtype == INT64) p = t.getI64(0);
  else if (t.dtype == INT32) p = <i64>load<i32>(t.ptr);
  else {
    ctx.unsupportedType(t, "position");
    return -1;
  }
  const hi = allowEnd ? <i64>n : <i64>n - 1;
  if (p < -<i64>n || p > hi) {
    ctx.error("position " + p.toString() + " is out of range for a sequence of length " + n.toString());
    return -1;
  }
  return <i32>(p < 0 ? p + n : p);
}

function checkElemType(ctx: OpContext, seq: SequenceValue, t: Tensor): bool {
  if (seq.dtype != 0 && t.dtype != seq.dtype) {
    ctx.error("a " + typeName(t.dtype) + " tensor cannot join a sequence of " + typeName(seq.dtype));
    return false;
  }
  return true;
}

export function sequenceEmptyOp(ctx: OpContext): void {
  const dtype = <i32>ctx.attrInt("dtype", FLOAT);
  if (failed()) return;
  if (elementSize(dtype) == 0) return unsupported("data type " + typeName(dtype) + " for " + ctx.label());
  ctx.setOutput(0, new SequenceValue(dtype, new Array<Tensor>()));
}

export function sequenceConstructOp(ctx: OpContext): void {
  const items = new Array<Tensor>();
  for (let i = 0; i < ctx.inputCount; i++) {
    const t = tensorInput(ctx, i, "inputs[" + i.toString() + "]");
    if (t === null) return;
    if (items.length > 0 && t.dtype != items[0].dtype) return ctx.error("inputs have different data types (" + typeName(items[0].dtype) + ", " + typeName(t.dtype) + ")");
    items.push(t);
  }
  if (items.length == 0) return ctx.error("needs at least one input");
  ctx.setOutput(0, new SequenceValue(items[0].dtype, items));
}

export function sequenceInsertOp(ctx: OpContext): void {
  const seq = sequenceInput(ctx, 0, "input_sequence");
  const t = tensorInput(ctx, 1, "tensor");
  if (seq === null || t === null || !checkElemType(ctx, seq, t)) return;
  const n = seq.items.length;
  let at = n;
  const p = ctx.optional(2);
  if (p !== null) {
    at = position(ctx, p, n, true);
    if (at < 0) return;
  }
  const items = seq.items.slice(0);
  items.push(t);
  for (let i = items.length - 1; i > at; i--) items[i] = items[i - 1];
  items[at] = t;
  ctx.setOutput(0, new SequenceValue(t.dtype, items));
}

export function sequenceAtOp(ctx: OpContext): void {
  const seq = sequenceInput(ctx, 0, "input_sequence");
  const p = ctx.input(1, "position");
  if (seq === null || p === null) return;
  const at = position(ctx, p, seq.items.length, false);
  if (at < 0) return;
  ctx.setOutput(0, seq.items[at]);
}

export function sequenceEraseOp(ctx: OpContext): void {
  const seq = sequenceInput(ctx, 0, "input_sequence");
  if (seq === null) return;
  const n = seq.items.length;
  if (n == 0) return ctx.error("cannot erase from an empty sequence");
  let at = n - 1;
  const p = ctx.optional(1);
  if (p !== null) {
    at = position(ctx, p, n, false);
    if (at < 0) return;
  }
  const items = seq.items.slice(0);
  items.splice(at, 1);
  ctx.setOutput(0, new SequenceValue(seq.dtype, items));
}

export function sequenceLengthOp(ctx: OpContext): void {
  const seq = sequenceInput(ctx, 0, "input_sequence");
  if (seq === null) return;
  const out = new Tensor(INT64, new Array<i32>(), 1, new ArrayBuffer(8));
  store<i64>(out.ptr, seq.items.length);
  ctx.setOutput(0, out);
}

/** x[.., start:start+len, ..] along axis (len kept as a dimension, or dropped when `squeeze`). */
function sliceAxis(x: Tensor, axis: i32, start: i32, len: i32, squeeze: bool, what: string): Tensor | null {
  const dims = x.dims.slice(0);
  dims[axis] = len;
  const out = newTensor(x.dtype, dims, what);
  if (out === null) return null;
  const es = <usize>elementSize(x.dtype);
  const outer = product(x.dims, 0, axis);
  const inner = <usize>product(x.dims, axis + 1, x.rank) * es;
  const dim = <usize>x.dims[axis];
  const chunk = <usize>len * inner;
  for (let o = 0; o < outer; o++) memory.copy(out.ptr + <usize>o * chunk, x.ptr + (<usize>o * dim + <usize>start) * inner, chunk);
  if (squeeze) dims.splice(axis, 1);
  return squeeze ? out.reshaped(dims) : out;
}

export function splitToSequenceOp(ctx: OpContext): void {
  const x = tensorInput(ctx, 0, "input");
  if (x === null) return;
  if (x.rank == 0) return ctx.error("input must have rank >= 1");
  const axis = ctx.axis(ctx.attrInt("axis", 0), x.rank, "axis");
  const keepdims = ctx.attrInt("keepdims", 1) != 0;
  if (failed()) return;
  const dim = x.dims[axis];
  const sizes = new Array<i32>();
  const s = ctx.optional(1);
  let squeeze = false;
  if (s === null) {
    for (let i = 0; i < dim; i++) sizes.push(1);
    squeeze = !keepdims;
  } else {
    if (s.dtype != INT64 && s.dtype != INT32) return ctx.unsupportedType(s, "split");
    const get = (t: Tensor, i: i32): i64 => (t.dtype == INT64 ? t.getI64(i) : <i64>load<i32>(t.ptr + (<usize>i << 2)));
    if (s.rank == 0) {
      const chunk = get(s, 0);
      if (chunk <= 0) return ctx.error("split must be positive, is " + chunk.toString());
      for (let at: i64 = 0; at < <i64>dim; at += chunk) sizes.push(<i32>min<i64>(chunk, <i64>dim - at));
    } else {
      if (s.rank != 1) return ctx.error("split must be a scalar or 1-D, has shape " + dimsToString(s.dims));
      let total: i64 = 0;
      for (let i = 0; i < s.size; i++) {
        const v = get(s, i);
        if (v < 0) return ctx.error("split values must be non-negative");
        total += v;
        if (total > <i64>dim) break;
        sizes.push(<i32>v);
      }
      if (total != <i64>dim) return ctx.error("split values sum to " + total.toString() + ", axis has size " + dim.toString());
    }
  }
  const items = new Array<Tensor>();
  let start = 0;
  for (let i = 0; i < sizes.length; i++) {
    const part = sliceAxis(x, axis, start, sizes[i], squeeze, "output of " + ctx.label());
    if (part === null) return;
    items.push(part);
    start += sizes[i];
  }
  ctx.setOutput(0, new SequenceValue(x.dtype, items));
}

export function concatFromSequenceOp(ctx: OpContext): void {
  const seq = sequenceInput(ctx, 0, "input_sequence");
  if (seq === null) return;
  const a = ctx.node.attr("axis");
  if (a === null || a.type != ATTR_INT) return ctx.error("needs the INT attribute axis");
  const newAxis = ctx.attrInt("new_axis", 0) != 0;
  if (failed()) return;
  const items = seq.items;
  if (items.length == 0) return ctx.error("cannot concatenate an empty sequence");
  const first = items[0];
  const r = first.rank;
  const outRank = newAxis ? r + 1 : r;
  if (outRank == 0) return ctx.error("cannot concatenate scalars without new_axis");
  const axis = ctx.axis(a.i, outRank, "axis");
  if (failed()) return;
  let total: i64 = 0;
  for (let i = 0; i < items.length; i++) {
    const t = items[i];
    if (t.dtype != first.dtype || t.rank != r) return ctx.error("sequence items differ in type or rank");
    for (let d = 0; d < r; d++) {
      if ((newAxis || d != axis) && t.dims[d] != first.dims[d]) return ctx.error("item shapes " + dimsToString(first.dims) + " and " + dimsToString(t.dims) + " differ outside axis " + axis.toString());
    }
    total += newAxis ? 1 : <i64>t.dims[axis];
  }
  if (total > 0x7fffffff) return ctx.error("output too large");
  const dims = first.dims.slice(0);
  if (newAxis) {
    dims.push(0);
    for (let d = dims.length - 1; d > axis; d--) dims[d] = dims[d - 1];
  }
  dims[axis] = <i32>total;
  const out = newTensor(first.dtype, dims, "output of " + ctx.label());
  if (out === null) return;
  const es = <usize>elementSize(first.dtype);
  const outer = product(dims, 0, axis);
  const rowOut = <usize>product(dims, axis, dims.length) * es;
  let offset: usize = 0;
  for (let i = 0; i < items.length; i++) {
    const t = items[i];
    const rowIn = <usize>product(t.dims, axis, r) * es;
    for (let o = 0; o < outer; o++) memory.copy(out.ptr + <usize>o * rowOut + offset, t.ptr + <usize>o * rowIn, rowIn);
    offset += rowIn;
  }
  ctx.setOutput(0, out);
}

export function optionalOp(ctx: OpContext): void {
  const t = ctx.optional(0);
  if (t !== null) {
    if (t instanceof OptionalValue) return ctx.error("input must be a tensor or a sequence, is an optional");
    return ctx.setOutput(0, new OptionalValue(t.dtype, t, t instanceof SequenceValue));
  }
  // empty: the type attribute says what it would hold
  ctx.setOutput(0, new OptionalValue(FLOAT, null, false));
}

export function optionalHasElementOp(ctx: OpContext): void {
  const t = ctx.optional(0);
  const out = new Tensor(BOOL, new Array<i32>(), 1, new ArrayBuffer(1));
  let has = t !== null;
  if (t !== null && t instanceof OptionalValue) has = (<OptionalValue>t).value !== null;
  store<u8>(out.ptr, has ? 1 : 0);
  ctx.setOutput(0, out);
}

export function optionalGetElementOp(ctx: OpContext): void {
  const t = ctx.input(0, "input");
  if (t === null) return;
  if (!(t instanceof OptionalValue)) return ctx.setOutput(0, t); // opset 18: a plain value passes
  const v = (<OptionalValue>t).value;
  if (v === null) return ctx.error("the optional input is empty");
  ctx.setOutput(0, v);
}

/**
 * SequenceMap: runs `body` once per position of the input sequence; sequence inputs give
 * their element at that position, tensor inputs are passed whole; each body output builds
 * one output sequence.
 */
export function sequenceMapOp(ctx: OpContext): void {
  const body = graphAttr(ctx.node, "body");
  if (body === null) return;
  const first = sequenceInput(ctx, 0, "input_sequence");
  if (first === null) return;
  const n = first.items.length;
  for (let i = 1; i < ctx.inputCount; i++) {
    const t = ctx.input(i, "additional_inputs");
    if (t === null) return;
    if (t instanceof SequenceValue && (<SequenceValue>t).items.length != n) return ctx.error("sequence inputs have different lengths");
  }
  if (body.inputs.length != ctx.inputCount) return ctx.error("body takes " + body.inputs.length.toString() + " inputs, the node passes " + ctx.inputCount.toString());
  const scope = changetype<Scope>(ctx.scope);
  const outs = new Array<Array<Tensor>>(body.outputs.length);
  for (let k = 0; k < outs.length; k++) outs[k] = new Array<Tensor>();
  for (let p = 0; p < n; p++) {
    const ins = new Array<Tensor>(ctx.inputCount);
    for (let i = 0; i < ctx.inputCount; i++) {
      const t = changetype<Tensor>(ctx.inputs[i]);
      ins[i] = t instanceof SequenceValue ? (<SequenceValue>t).items[p] : t;
    }
    const res = runSubgraph(body, scope, ins, ctx.opset, "body of " + ctx.label());
    if (res === null) return;
    for (let k = 0; k < res.length; k++) {
      if (!isTensorValue(res[k])) return ctx.error("body output " + k.toString() + " is " + valueKindName(res[k]) + ", expected a tensor");
      outs[k].push(res[k]);
    }
  }
  for (let k = 0; k < outs.length; k++) {
    const v = body.outputs[k];
    const dtype = outs[k].length > 0 ? outs[k][0].dtype : v.elemType != 0 ? v.elemType : FLOAT;
    const seq = new SequenceValue(dtype, outs[k]);
    ctx.setOutput(k, seq);
    // the body results were held one by one; the sequence now carries them
    scope.deferDrop(seq);
  }
}
