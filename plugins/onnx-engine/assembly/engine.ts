// Model execution: validates the model and the request's inputs, runs the main graph
// (subgraph.ts: nodes in order, tensors dropped after their last use), and collects the
// graph outputs.
import { failed, modelError, unsupported } from "./errors";
import { Graph, Model, TYPE_OPTIONAL, TYPE_SEQUENCE, TYPE_TENSOR, ValueInfo, typeKindName } from "./onnx/model";
import { NamedTensor } from "./onnx/tensor-proto";
import { BufferRefs, Scope } from "./scope";
import { checkGraph, checkOperators, checkValueType, resetPlans, runNodes } from "./subgraph";
import { Tensor, dimsToString, typeName } from "./tensor";
import { OptionalValue, SequenceValue, isTensorValue, valueKindName } from "./values";

/** Newest ai.onnx opset whose semantics for the supported operators this engine knows. */
export const MAX_OPSET: i64 = 23;

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
  if (!declaredKindMatches(v, t)) {
    modelError("input " + v.name + " is " + valueKindName(t) + ", the model declares " + kindWithArticle(v.kind));
    return;
  }
  if (!isTensorValue(t)) return;
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

function kindWithArticle(kind: i32): string {
  return kind == TYPE_OPTIONAL ? "an optional" : "a " + typeKindName(kind);
}

function declaredKindMatches(v: ValueInfo, t: Tensor): bool {
  if (v.kind == TYPE_SEQUENCE) return t instanceof SequenceValue;
  if (v.kind == TYPE_OPTIONAL) return t instanceof OptionalValue;
  if (v.kind == TYPE_TENSOR) return isTensorValue(t);
  return true;
}

/** Puts initializers and the request's inputs into `values`, checking them against the graph. */
function bindInputs(g: Graph, inputs: Array<NamedTensor>, scope: Scope): bool {
  const isInitializer = new Set<string>();
  for (let i = 0; i < g.initializers.length; i++) {
    const init = g.initializers[i];
    if (isInitializer.has(init.name)) {
      modelError("initializer " + init.name + " is defined twice");
      return false;
    }
    isInitializer.add(init.name);
    scope.set(init.name, init.tensor);
  }
  const graphInputs = new Set<string>();
  for (let i = 0; i < g.inputs.length; i++) {
    const v = g.inputs[i];
    checkValueType(v, "graph input", true);
    if (failed()) return false;
    graphInputs.add(v.name);
    let given: Tensor | null = null;
    for (let j = 0; j < inputs.length; j++) {
      if (inputs[j].name == v.name) given = inputs[j].tensor;
    }
    if (given !== null) {
      checkInput(v, given);
      if (failed()) return false;
      scope.remove(v.name); // overrides an initializer of the same name
      scope.set(v.name, given);
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
    checkValueType(g.outputs[i], "graph output", true);
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
  if (checkOperators(g, "")) return null;
  if (model.opset < 0 && g.nodes.length > 0) {
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

  resetPlans();
  const scope = new Scope(null, new BufferRefs());
  // binding happens in its own function so that no local of this frame keeps an input
  // alive (the GC can then reclaim it after its last use)
  if (!bindInputs(g, inputs, scope)) return null;
  if (!checkGraph(g, null, opset, "")) return null;
  if (!runNodes(g, scope, opset)) return null;

  const outs = new Array<NamedTensor>();
  for (let i = 0; i < g.outputs.length; i++) {
    const v = g.outputs[i];
    const t = scope.lookup(v.name);
    if (t === null) {
      modelError("graph output " + v.name + " is not produced by any node, input or initializer");
      return null;
    }
    if (!declaredKindMatches(v, t)) {
      modelError("graph output " + v.name + " is " + valueKindName(t) + ", the model declares " + kindWithArticle(v.kind));
      return null;
    }
    if (t instanceof OptionalValue && v.innerKind == TYPE_SEQUENCE) (<OptionalValue>t).ofSequence = true;
    if (v.kind == TYPE_TENSOR && v.elemType != 0 && v.elemType != t.dtype) {
      modelError("graph output " + v.name + " is " + typeName(t.dtype) + ", the model declares " + typeName(v.elemType));
      return null;
    }
    outs.push(new NamedTensor(v.name, t));
  }
  return outs;
}
