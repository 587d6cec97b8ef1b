// Graph execution: validates the graph and the request's inputs, runs nodes in order,
// drops intermediate tensors after their last use, and collects the graph outputs.
import { failed, modelError, unsupported } from "./errors";
import { Graph, Model, Node, TYPE_NONE, TYPE_TENSOR, ValueInfo, typeKindName } from "./onnx/model";
import { NamedTensor } from "./onnx/tensor-proto";
import { OpContext } from "./ops/context";
import { dispatch, isSupportedIn } from "./ops/registry";
import { Tensor, dimsToString, elementSize, releaseBuffer, typeName } from "./tensor";

/** Newest ai.onnx opset whose semantics for the supported operators this engine knows. */
export const MAX_OPSET: i64 = 23;

function domainName(d: string): string {
  return d.length == 0 ? "ai.onnx" : d;
}

/** The first unsupported operator in the graph, as an error; false if there is none. */
function checkOperators(g: Graph): bool {
  for (let i = 0; i < g.nodes.length; i++) {
    const n = g.nodes[i];
    const known = isSupportedIn(n.domain, n.opType);
    if (!known) {
      unsupported("operator " + n.opType + " (" + n.label() + ", domain " + domainName(n.domain) + ")");
      return true;
    }
  }
  return false;
}

function checkValueType(v: ValueInfo, what: string): void {
  if (v.kind != TYPE_TENSOR && v.kind != TYPE_NONE) {
    unsupported("type " + typeKindName(v.kind) + " for " + what + " " + v.name + " (only tensors are supported)");
    return;
  }
  if (v.kind == TYPE_TENSOR && v.elemType != 0 && elementSize(v.elemType) == 0) {
    unsupported("data type " + typeName(v.elemType) + " for " + what + " " + v.name);
  }
}

function declaredShape(v: ValueInfo): string {
  let s = "[";
  for (let i = 0; i < v.dims.length; i++) {
    if (i > 0) s += ",";
    const d = v.dims[i];
    s += d < 0 ? "?" : d.toString();
  }
  return s + "]";
}

function checkInput(v: ValueInfo, t: Tensor): void {
  if (v.kind == TYPE_TENSOR && v.elemType != 0 && v.elemType != t.dtype) {
    modelError("input " + v.name + " is " + typeName(t.dtype) + ", the model declares " + typeName(v.elemType));
    return;
  }
  if (!v.hasShape) return;
  let ok = v.dims.length == t.rank;
  for (let i = 0; ok && i < v.dims.length; i++) {
    const d = v.dims[i];
    if (d >= 0 && d != <i64>t.dims[i]) ok = false;
  }
  if (!ok) modelError("input " + v.name + " has shape " + dimsToString(t.dims) + ", the model declares " + declaredShape(v));
}

/** How many entries of the value table use each data buffer. */
class BufferRefs {
  counts: Map<usize, i32> = new Map<usize, i32>();

  add(t: Tensor): void {
    const p = changetype<usize>(t.data);
    this.counts.set(p, this.counts.has(p) ? this.counts.get(p) + 1 : 1);
  }

  /** Drops one use; at zero the buffer goes back to the pool. */
  drop(t: Tensor): void {
    const p = changetype<usize>(t.data);
    if (!this.counts.has(p)) return;
    const n = this.counts.get(p) - 1;
    if (n > 0) {
      this.counts.set(p, n);
      return;
    }
    this.counts.delete(p);
    releaseBuffer(t.data);
  }
}

/** Puts initializers and the request's inputs into `values`, checking them against the graph. */
function bindInputs(g: Graph, inputs: Array<NamedTensor>, values: Map<string, Tensor>, isInitializer: Set<string>): bool {
  for (let i = 0; i < g.initializers.length; i++) {
    const init = g.initializers[i];
    if (isInitializer.has(init.name)) {
      modelError("initializer " + init.name + " is defined twice");
      return false;
    }
    isInitializer.add(init.name);
    values.set(init.name, init.tensor);
  }
  const graphInputs = new Set<string>();
  for (let i = 0; i < g.inputs.length; i++) {
    const v = g.inputs[i];
    checkValueType(v, "graph input");
    if (failed()) return false;
    graphInputs.add(v.name);
    let given: Tensor | null = null;
    for (let j = 0; j < inputs.length; j++) {
      if (inputs[j].name == v.name) given = inputs[j].tensor;
    }
    if (given !== null) {
      checkInput(v, given);
      if (failed()) return false;
      values.set(v.name, given); // overrides an initializer of the same name
    } else if (!isInitializer.has(v.name)) {
      modelError("missing input " + v.name + " (" + typeName(v.elemType) + " " + declaredShape(v) + ")");
      return false;
    }
  }
  for (let j = 0; j < inputs.length; j++) {
    if (!graphInputs.has(inputs[j].name)) {
      modelError("the model has no input named " + inputs[j].name);
      return false;
    }
  }
  for (let i = 0; i < g.outputs.length; i++) {
    checkValueType(g.outputs[i], "graph output");
    if (failed()) return false;
  }
  // the values map now owns the inputs; letting go of the request's list lets the GC
  // reclaim an input after its last use
  inputs.length = 0;

  return true;
}

export function runModel(model: Model, inputs: Array<NamedTensor>): Array<NamedTensor> | null {
  const g = model.graph;
  if (g === null) {
    modelError("model has no graph");
    return null;
  }
  if (checkOperators(g)) return null;
  let onnxNodes = 0;
  for (let i = 0; i < g.nodes.length; i++) if (g.nodes[i].domain == "" || g.nodes[i].domain == "ai.onnx") onnxNodes++;
  if (model.opset < 0 && onnxNodes > 0) {
    modelError("the model imports no ai.onnx opset but has ai.onnx nodes");
    return null;
  }
  if (model.opset == 0 || model.opset < -1) {
    modelError("invalid ai.onnx opset version " + model.opset.toString());
    return null;
  }
  if (model.opset > MAX_OPSET) {
    unsupported("ai.onnx opset " + model.opset.toString() + " (this engine knows opsets 1 to " + MAX_OPSET.toString() + ")");
    return null;
  }
  const opset = <i32>model.opset;
  if (g.sparseInitializers > 0) {
    unsupported("sparse initializers");
    return null;
  }

  const values = new Map<string, Tensor>();
  const isInitializer = new Set<string>();
  // binding happens in its own function so that no local of this frame keeps an input
  // alive (the GC can then reclaim it after its last use)
  if (!bindInputs(g, inputs, values, isInitializer)) return null;

  // last node index reading each value; graph outputs are kept to the end
  const lastUse = new Map<string, i32>();
  for (let i = 0; i < g.nodes.length; i++) {
    const n = g.nodes[i];
    for (let k = 0; k < n.inputs.length; k++) lastUse.set(n.inputs[k], i);
  }
  for (let i = 0; i < g.outputs.length; i++) lastUse.set(g.outputs[i].name, i32.MAX_VALUE);

  const refs = new BufferRefs();
  const names = values.keys();
  for (let i = 0; i < names.length; i++) refs.add(values.get(names[i]));
  for (let i = 0; i < g.nodes.length; i++) {
    const n = g.nodes[i];
    // Past half of the 256 MiB cap, collect garbage before each node so dropped
    // intermediates are reused rather than growing memory toward the limit.
    if (memory.size() >= 2048) __collect();
    if (!runNode(n, opset, values, refs)) return null;
    for (let k = 0; k < n.inputs.length; k++) {
      const name = n.inputs[k];
      if (name.length > 0 && lastUse.has(name) && lastUse.get(name) == i && !isInitializer.has(name) && values.has(name)) {
        refs.drop(values.get(name));
        values.delete(name);
      }
    }
  }

  const outs = new Array<NamedTensor>();
  for (let i = 0; i < g.outputs.length; i++) {
    const v = g.outputs[i];
    if (!values.has(v.name)) {
      modelError("graph output " + v.name + " is not produced by any node, input or initializer");
      return null;
    }
    const t = values.get(v.name);
    if (v.kind == TYPE_TENSOR && v.elemType != 0 && v.elemType != t.dtype) {
      modelError("graph output " + v.name + " is " + typeName(t.dtype) + ", the model declares " + typeName(v.elemType));
      return null;
    }
    outs.push(new NamedTensor(v.name, t));
  }
  return outs;
}

function runNode(n: Node, opset: i32, values: Map<string, Tensor>, refs: BufferRefs): bool {
  const ins = new Array<Tensor | null>(n.inputs.length);
  for (let k = 0; k < n.inputs.length; k++) {
    const name = n.inputs[k];
    if (name.length == 0) continue; // an omitted optional input
    if (!values.has(name)) {
      modelError(n.opType + " (" + n.label() + ") reads " + name + ", which no earlier node, graph input or initializer provides");
      return false;
    }
    ins[k] = values.get(name);
  }
  const ctx = new OpContext(n, opset, ins);
  dispatch(ctx);
  if (failed()) return false;
  for (let k = 0; k < n.outputs.length; k++) {
    const name = n.outputs[k];
    if (name.length == 0) continue;
    const t = ctx.outputs[k];
    if (t === null) {
      modelError(n.opType + " (" + n.label() + ") does not produce output " + k.toString() + " (" + name + ")");
      return false;
    }
    if (values.has(name)) {
      modelError(n.opType + " (" + n.label() + ") writes " + name + ", which is already defined");
      return false;
    }
    values.set(name, t);
    refs.add(t);
  }
  return true;
}
