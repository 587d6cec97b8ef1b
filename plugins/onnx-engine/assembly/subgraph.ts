// Running graphs at any depth of nesting. The main graph and every subgraph (If branches,
// Loop and Scan bodies) run through runNodes; a subgraph reads the values of the scopes
// enclosing it (lexical scoping). Before anything runs, the whole model is validated:
// every operator is supported and every name a node reads is defined earlier in its graph
// or in an enclosing one. Values are dropped after their last use, where a use includes the
// reads of a node's subgraphs, so an outer value stays alive while a subgraph may read it.
import { failed, modelError, unsupported } from "./errors";
import { ATTR_GRAPH, ATTR_GRAPHS, Graph, Node, TYPE_NONE, TYPE_OPTIONAL, TYPE_SEQUENCE, TYPE_TENSOR, ValueInfo, typeKindName } from "./onnx/model";
import { checkControlFlowNode } from "./ops/control-flow";
import { OpContext } from "./ops/context";
import { dispatch, isSupported } from "./ops/registry";
import { Scope } from "./scope";
import { Tensor, elementSize, typeName } from "./tensor";
import { isTensorValue, valueKindName } from "./values";

/** Operators that take sequence or optional values (all others see tensors only). */
function takesContainers(op: string): bool {
  return op == "Identity" || op == "If" || op == "Loop" || op.startsWith("Sequence") || op.startsWith("Optional") || op == "ConcatFromSequence";
}

export function domainName(d: string): string {
  return d.length == 0 ? "ai.onnx" : d;
}

/** The subgraphs a node carries (GRAPH and GRAPHS attributes), with their attribute names. */
export class SubgraphRef {
  constructor(public attr: string, public graph: Graph) {}
}

export function subgraphsOf(n: Node): Array<SubgraphRef> {
  const out = new Array<SubgraphRef>();
  for (let i = 0; i < n.attributes.length; i++) {
    const a = unchecked(n.attributes[i]);
    const g = a.g;
    if (g !== null) out.push(new SubgraphRef(a.name, g));
    for (let k = 0; k < a.graphs.length; k++) out.push(new SubgraphRef(a.name, unchecked(a.graphs[k])));
  }
  return out;
}

/** The graph of a GRAPH attribute, or null with a model error naming the node. */
export function graphAttr(n: Node, name: string): Graph | null {
  const a = n.attr(name);
  if (a === null || a.g === null || (a.type != ATTR_GRAPH && a.type != 0)) {
    if (a !== null && a.type == ATTR_GRAPHS) modelError(n.opType + " (" + n.label() + "): attribute " + name + " must be one graph");
    else modelError(n.opType + " (" + n.label() + ") lacks the graph attribute " + name);
    return null;
  }
  return a.g;
}

// ---- analysis: what each graph reads from outside, and when each value is last used ----

class GraphPlan {
  /** Names the graph (or its subgraphs) reads from enclosing scopes. */
  freeVars: Array<string> = new Array<string>();
  /** Per node: own values whose last use is that node (including never-read outputs). */
  releaseAfter: Array<Array<string>> = new Array<Array<string>>();
}

// Plans are keyed by the Graph's address; the decoded model lives for one run, so the table
// is reset with it (resetPlans).
let plans = new Map<usize, GraphPlan>();

export function resetPlans(): void {
  plans = new Map<usize, GraphPlan>();
}

function planOf(g: Graph): GraphPlan {
  const key = changetype<usize>(g);
  if (plans.has(key)) return plans.get(key);
  const own = new Set<string>();
  for (let i = 0; i < g.inputs.length; i++) own.add(g.inputs[i].name);
  for (let i = 0; i < g.initializers.length; i++) own.add(g.initializers[i].name);
  for (let i = 0; i < g.nodes.length; i++) {
    const outs = g.nodes[i].outputs;
    for (let k = 0; k < outs.length; k++) if (outs[k].length > 0) own.add(outs[k]);
  }
  const lastUse = new Map<string, i32>();
  const free = new Set<string>();
  const plan = new GraphPlan();
  for (let i = 0; i < g.nodes.length; i++) {
    const n = g.nodes[i];
    for (let k = 0; k < n.inputs.length; k++) {
      const name = n.inputs[k];
      if (name.length == 0) continue;
      lastUse.set(name, i);
      if (!own.has(name)) free.add(name);
    }
    const subs = subgraphsOf(n);
    for (let s = 0; s < subs.length; s++) {
      const inner = planOf(subs[s].graph).freeVars;
      for (let k = 0; k < inner.length; k++) {
        lastUse.set(inner[k], i);
        if (!own.has(inner[k])) free.add(inner[k]);
      }
    }
    // an output nothing reads is dropped right after its node
    for (let k = 0; k < n.outputs.length; k++) if (n.outputs[k].length > 0 && !lastUse.has(n.outputs[k])) lastUse.set(n.outputs[k], i);
  }
  for (let i = 0; i < g.outputs.length; i++) {
    const name = g.outputs[i].name;
    lastUse.set(name, i32.MAX_VALUE);
    if (!own.has(name)) free.add(name);
  }
  for (let i = 0; i < g.nodes.length; i++) plan.releaseAfter.push(new Array<string>());
  const names = lastUse.keys();
  for (let i = 0; i < names.length; i++) {
    const at = lastUse.get(names[i]);
    if (at != i32.MAX_VALUE && own.has(names[i])) plan.releaseAfter[at].push(names[i]);
  }
  plan.freeVars = free.values();
  plans.set(key, plan);
  return plan;
}

// ---- validation ----

/** Where a subgraph sits, for messages: ` in then_branch of If (node "if0")`. */
function within(n: Node, attr: string, outer: string): string {
  return " in " + attr + " of " + n.opType + " (" + n.label() + ")" + outer;
}

/** The first unsupported operator at any depth, as an error; false if there is none. */
export function checkOperators(g: Graph, where: string): bool {
  for (let i = 0; i < g.nodes.length; i++) {
    const n = g.nodes[i];
    const known = (n.domain == "" || n.domain == "ai.onnx") && isSupported(n.opType);
    if (!known) {
      unsupported("operator " + n.opType + " (" + n.label() + ", domain " + domainName(n.domain) + ")" + where);
      return true;
    }
    const subs = subgraphsOf(n);
    for (let s = 0; s < subs.length; s++) {
      if (checkOperators(subs[s].graph, within(n, subs[s].attr, where))) return true;
    }
  }
  return false;
}

/** Whether the engine holds values of v's declared type: tensors, sequences of tensors, optionals of either. */
function heldKind(v: ValueInfo): bool {
  if (v.kind == TYPE_TENSOR || v.kind == TYPE_NONE) return true;
  if (v.kind == TYPE_SEQUENCE) return v.innerKind == TYPE_TENSOR || v.innerKind == TYPE_NONE;
  if (v.kind == TYPE_OPTIONAL) return v.innerKind == TYPE_TENSOR || v.innerKind == TYPE_SEQUENCE || v.innerKind == TYPE_NONE;
  return false;
}

/** Refuses what the engine cannot hold; `containers`: sequences and optionals are allowed. */
export function checkValueType(v: ValueInfo, what: string, containers: bool = false): void {
  if (containers && heldKind(v)) {
    if (v.elemType != 0 && elementSize(v.elemType) == 0) unsupported("data type " + typeName(v.elemType) + " for " + what + " " + v.name);
    return;
  }
  if (v.kind != TYPE_TENSOR && v.kind != TYPE_NONE) {
    unsupported("type " + typeKindName(v.kind) + " for " + what + " " + v.name + " (only tensors are supported)");
    return;
  }
  if (v.kind == TYPE_TENSOR && v.elemType != 0 && elementSize(v.elemType) == 0) {
    unsupported("data type " + typeName(v.elemType) + " for " + what + " " + v.name);
  }
}

/** Names visible at a point of a graph: its own so far, then those of enclosing graphs. */
class Names {
  own: Set<string> = new Set<string>();
  constructor(public parent: Names | null) {}

  has(name: string): bool {
    let s: Names | null = this;
    while (s !== null) {
      if (s.own.has(name)) return true;
      s = s.parent;
    }
    return false;
  }
}

/**
 * Checks that every node reads only names defined before it (in its graph or an enclosing
 * one), that no graph defines a name twice, that graph outputs exist, that subgraph inputs
 * and outputs are tensors, and that control-flow nodes match their subgraphs' signatures.
 * `outer` is null for the main graph (whose inputs were checked when bound).
 */
export function checkGraph(g: Graph, outer: Names | null, opset: i32, where: string): bool {
  const names = new Names(outer);
  const sub = outer !== null;
  for (let i = 0; i < g.initializers.length; i++) {
    const name = g.initializers[i].name;
    if (sub && names.own.has(name)) {
      modelError("initializer " + name + " is defined twice" + where);
      return false;
    }
    names.own.add(name);
  }
  for (let i = 0; i < g.inputs.length; i++) {
    if (sub) {
      checkValueType(g.inputs[i], "subgraph input", true);
      if (failed()) return false;
    }
    names.own.add(g.inputs[i].name);
  }
  for (let i = 0; i < g.nodes.length; i++) {
    const n = g.nodes[i];
    for (let k = 0; k < n.inputs.length; k++) {
      const name = n.inputs[k];
      if (name.length > 0 && !names.has(name)) {
        modelError(n.opType + " (" + n.label() + ") reads " + name + ", which no earlier node, graph input or initializer provides" + (sub ? where + " or an enclosing graph" : ""));
        return false;
      }
    }
    if (!checkControlFlowNode(n, opset, where)) return false;
    const subs = subgraphsOf(n);
    for (let s = 0; s < subs.length; s++) {
      if (!checkGraph(subs[s].graph, names, opset, within(n, subs[s].attr, where))) return false;
    }
    for (let k = 0; k < n.outputs.length; k++) {
      const name = n.outputs[k];
      if (name.length == 0) continue;
      if (names.own.has(name)) {
        modelError(n.opType + " (" + n.label() + ") writes " + name + ", which is already defined" + where);
        return false;
      }
      names.own.add(name);
    }
  }
  for (let i = 0; i < g.outputs.length; i++) {
    const v = g.outputs[i];
    if (sub) {
      checkValueType(v, "subgraph output", true);
      if (failed()) return false;
    }
    if (!names.has(v.name)) {
      modelError("graph output " + v.name + " is not produced by any node, input or initializer" + where);
      return false;
    }
  }
  return true;
}

// ---- execution ----

/** Runs g's nodes in order in `scope`, dropping own values after their last use. */
export function runNodes(g: Graph, scope: Scope, opset: i32): bool {
  const plan = planOf(g);
  for (let i = 0; i < g.nodes.length; i++) {
    // Past half of the 256 MiB cap, collect garbage before each node so dropped
    // intermediates are reused rather than growing memory toward the limit.
    if (memory.size() >= 2048) __collect();
    if (!runNode(g.nodes[i], opset, scope)) return false;
    const release = unchecked(plan.releaseAfter[i]);
    for (let k = 0; k < release.length; k++) scope.remove(unchecked(release[k]));
  }
  return true;
}

function runNode(n: Node, opset: i32, scope: Scope): bool {
  const ins = new Array<Tensor | null>(n.inputs.length);
  for (let k = 0; k < n.inputs.length; k++) {
    const name = n.inputs[k];
    if (name.length == 0) continue; // an omitted optional input
    const t = scope.lookup(name);
    if (t === null) {
      modelError(n.opType + " (" + n.label() + ") reads " + name + ", which no earlier node, graph input or initializer provides");
      return false;
    }
    if (!isTensorValue(t) && !takesContainers(n.opType)) {
      modelError(n.opType + " (" + n.label() + ") input " + k.toString() + " (" + name + ") is " + valueKindName(t) + ", expected a tensor");
      return false;
    }
    ins[k] = t;
  }
  const ctx = new OpContext(n, opset, ins);
  ctx.scope = scope;
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
    if (scope.hasOwn(name)) {
      modelError(n.opType + " (" + n.label() + ") writes " + name + ", which is already defined");
      return false;
    }
    scope.set(name, t);
  }
  scope.dropDeferred();
  return true;
}

/**
 * Runs subgraph g in a new scope inside `parent`, its inputs bound to `inputs` in order.
 * Returns its outputs, each held (the caller drops or defer-drops every one), or null on
 * error. The subgraph's own values are all dropped before it returns.
 */
export function runSubgraph(g: Graph, parent: Scope, inputs: Array<Tensor>, opset: i32, what: string): Array<Tensor> | null {
  if (inputs.length != g.inputs.length) {
    modelError(what + " declares " + g.inputs.length.toString() + " inputs, " + inputs.length.toString() + " are given");
    return null;
  }
  const scope = new Scope(parent, parent.refs);
  for (let i = 0; i < g.initializers.length; i++) {
    const init = g.initializers[i];
    scope.set(init.name, init.tensor);
  }
  for (let i = 0; i < inputs.length; i++) {
    const v = g.inputs[i];
    const t = inputs[i];
    if (v.kind == TYPE_TENSOR && !isTensorValue(t)) {
      modelError(what + ": input " + v.name + " is " + valueKindName(t) + ", the subgraph declares a tensor");
      return null;
    }
    if (v.kind == TYPE_TENSOR && v.elemType != 0 && v.elemType != t.dtype) {
      modelError(what + ": input " + v.name + " is " + typeName(t.dtype) + ", the subgraph declares " + typeName(v.elemType));
      return null;
    }
    if (scope.hasOwn(v.name)) scope.remove(v.name); // an input overrides an initializer
    scope.set(v.name, t);
  }
  if (!runNodes(g, scope, opset)) return null;
  const outs = new Array<Tensor>();
  for (let i = 0; i < g.outputs.length; i++) {
    const t = scope.lookup(g.outputs[i].name);
    if (t === null) {
      modelError(what + ": output " + g.outputs[i].name + " is not produced");
      return null;
    }
    scope.hold(t);
    outs.push(t);
  }
  scope.clear();
  return outs;
}
