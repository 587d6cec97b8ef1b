// ONNX ModelProto / GraphProto / NodeProto / AttributeProto / ValueInfoProto decoding.
// Field numbers follow onnx/onnx.proto (IR version 10). Unknown fields are skipped.
// Subgraph attributes (GRAPH `g`, GRAPHS `graphs`) are decoded as Graphs, nested at most
// MAX_GRAPH_DEPTH deep so that a hostile model cannot exhaust the stack.
import { decodeError, failed } from "../errors";
import { Reader } from "../protobuf";
import { Tensor } from "../tensor";
import { NamedTensor, decodeTensorProto } from "./tensor-proto";

// AttributeProto.AttributeType
export const ATTR_FLOAT: i32 = 1;
export const ATTR_INT: i32 = 2;
export const ATTR_STRING: i32 = 3;
export const ATTR_TENSOR: i32 = 4;
export const ATTR_GRAPH: i32 = 5;
export const ATTR_FLOATS: i32 = 6;
export const ATTR_INTS: i32 = 7;
export const ATTR_STRINGS: i32 = 8;
export const ATTR_GRAPHS: i32 = 10;

const ATTR_TYPE_NAMES: StaticArray<string> = [
  "UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", "INTS", "STRINGS", "TENSORS",
  "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS",
];

export function attrTypeName(t: i32): string {
  if (t >= 0 && t < ATTR_TYPE_NAMES.length) return unchecked(ATTR_TYPE_NAMES[t]);
  return "type " + t.toString();
}

export class Attribute {
  name: string = "";
  type: i32 = 0;
  f: f32 = 0;
  i: i64 = 0;
  s: string = "";
  t: Tensor | null = null;
  floats: Array<f32> = new Array<f32>();
  ints: Array<i64> = new Array<i64>();
  strings: Array<string> = new Array<string>();
  g: Graph | null = null;
  graphs: Array<Graph> = new Array<Graph>();
  refAttrName: string = "";
  // which value fields were present (for attributes written without a type)
  seenF: bool = false;
  seenI: bool = false;
  seenS: bool = false;
  seenT: bool = false;
  seenG: bool = false;
  seenOther: bool = false;
}

export class Node {
  index: i32 = 0;
  name: string = "";
  opType: string = "";
  domain: string = "";
  inputs: Array<string> = new Array<string>();
  outputs: Array<string> = new Array<string>();
  attributes: Array<Attribute> = new Array<Attribute>();

  /** `(node "name")` or `(node #3)` for messages. */
  label(): string {
    return this.name.length > 0 ? 'node "' + this.name + '"' : "node #" + this.index.toString();
  }

  attr(name: string): Attribute | null {
    // the last occurrence wins, like a protobuf map
    for (let i = this.attributes.length - 1; i >= 0; i--) {
      const a = unchecked(this.attributes[i]);
      if (a.name == name) return a;
    }
    return null;
  }
}

// TypeProto value kinds
export const TYPE_NONE: i32 = 0;
export const TYPE_TENSOR: i32 = 1;
export const TYPE_SEQUENCE: i32 = 4;
export const TYPE_MAP: i32 = 5;
export const TYPE_SPARSE: i32 = 8;
export const TYPE_OPTIONAL: i32 = 9;

export function typeKindName(k: i32): string {
  if (k == TYPE_SEQUENCE) return "sequence";
  if (k == TYPE_MAP) return "map";
  if (k == TYPE_SPARSE) return "sparse tensor";
  if (k == TYPE_OPTIONAL) return "optional";
  if (k == TYPE_TENSOR) return "tensor";
  return "unknown";
}

export class ValueInfo {
  name: string = "";
  kind: i32 = TYPE_NONE;
  elemType: i32 = 0;
  /** For a sequence or optional: the kind it holds (an optional may hold a sequence). */
  innerKind: i32 = TYPE_NONE;
  hasShape: bool = false;
  /** -1 for a symbolic or unknown dimension */
  dims: Array<i64> = new Array<i64>();
}

/** How deep subgraphs may nest (the main graph is depth 0). */
export const MAX_GRAPH_DEPTH: i32 = 32;

export class Graph {
  name: string = "";
  nodes: Array<Node> = new Array<Node>();
  initializers: Array<NamedTensor> = new Array<NamedTensor>();
  inputs: Array<ValueInfo> = new Array<ValueInfo>();
  outputs: Array<ValueInfo> = new Array<ValueInfo>();
  sparseInitializers: i32 = 0;
}

export class Model {
  irVersion: i64 = 0;
  /** ai.onnx opset version, -1 when not imported */
  opset: i64 = -1;
  graph: Graph | null = null;
  localFunctions: i32 = 0;
}

export function decodeModel(base: usize, start: i32, end: i32): Model | null {
  const r = new Reader(base, start, end, "ModelProto");
  const m = new Model();
  let graphs = 0;
  while (r.next()) {
    const f = r.field;
    if (f == 1) m.irVersion = r.int64();
    else if (f == 7) {
      graphs++;
      m.graph = decodeGraph(r.sub("GraphProto"), 0);
    } else if (f == 8) {
      const o = r.sub("OperatorSetIdProto");
      let domain = "";
      let version: i64 = 0;
      while (o.next()) {
        if (o.field == 1) domain = o.string();
        else if (o.field == 2) version = o.int64();
        else o.skip();
      }
      if (domain == "" || domain == "ai.onnx") m.opset = version;
    } else if (f == 25) {
      m.localFunctions++;
      r.skip();
    } else r.skip();
  }
  if (failed()) return null;
  if (graphs == 0) {
    decodeError("ModelProto has no graph (empty, truncated or not an ONNX model)");
    return null;
  }
  if (graphs > 1) {
    decodeError("ModelProto has " + graphs.toString() + " graph fields");
    return null;
  }
  return m;
}

function decodeGraph(r: Reader, depth: i32): Graph | null {
  if (depth > MAX_GRAPH_DEPTH) {
    decodeError("subgraphs nest more than " + MAX_GRAPH_DEPTH.toString() + " levels deep");
    return null;
  }
  const g = new Graph();
  while (r.next()) {
    const f = r.field;
    if (f == 2) g.name = r.string();
    else if (f == 1) {
      const n = decodeNode(r.sub("NodeProto"), depth);
      if (n !== null) {
        n.index = g.nodes.length;
        g.nodes.push(n);
      }
    } else if (f == 5) {
      const t = decodeTensorProto(r.sub("initializer TensorProto"), "initializer");
      if (t !== null) g.initializers.push(t);
    } else if (f == 11) {
      const v = decodeValueInfo(r.sub("graph input ValueInfoProto"));
      if (v !== null) g.inputs.push(v);
    } else if (f == 12) {
      const v = decodeValueInfo(r.sub("graph output ValueInfoProto"));
      if (v !== null) g.outputs.push(v);
    } else if (f == 15) {
      g.sparseInitializers++;
      r.skip();
    } else r.skip();
  }
  return failed() ? null : g;
}

function decodeNode(r: Reader, depth: i32): Node | null {
  const n = new Node();
  while (r.next()) {
    const f = r.field;
    if (f == 1) n.inputs.push(r.string());
    else if (f == 2) n.outputs.push(r.string());
    else if (f == 3) n.name = r.string();
    else if (f == 4) n.opType = r.string();
    else if (f == 7) n.domain = r.string();
    else if (f == 5) {
      const a = decodeAttribute(r.sub("AttributeProto"), depth);
      if (a !== null) n.attributes.push(a);
    } else r.skip();
  }
  return failed() ? null : n;
}

function decodeAttribute(r: Reader, depth: i32): Attribute | null {
  const a = new Attribute();
  while (r.next()) {
    const f = r.field;
    if (f == 1) a.name = r.string();
    else if (f == 20) a.type = r.int32();
    else if (f == 2) {
      a.f = r.float32();
      a.seenF = true;
    } else if (f == 3) {
      a.i = r.int64();
      a.seenI = true;
    } else if (f == 4) {
      a.s = r.string();
      a.seenS = true;
    } else if (f == 5) {
      const t = decodeTensorProto(r.sub("attribute TensorProto"), "attribute tensor");
      if (t !== null) a.t = t.tensor;
      a.seenT = true;
    } else if (f == 7) r.float32s(a.floats);
    else if (f == 8) r.int64s(a.ints);
    else if (f == 21) a.refAttrName = r.string();
    else if (f == 6) {
      a.g = decodeGraph(r.sub("attribute GraphProto"), depth + 1);
      a.seenG = true;
    } else if (f == 11) {
      const sub = decodeGraph(r.sub("attribute GraphProto"), depth + 1);
      if (sub !== null) a.graphs.push(sub);
    } else if (f == 9) a.strings.push(r.string());
    else if (f == 10 || f == 14 || f == 15 || f == 22 || f == 23) {
      a.seenOther = true;
      r.skip();
    } else r.skip();
  }
  if (failed()) return null;
  if (a.type == 0) {
    // IR version < 0.0.2 attributes have no type; infer it from the field that is set
    if (a.seenT) a.type = ATTR_TENSOR;
    else if (a.seenG) a.type = ATTR_GRAPH;
    else if (a.seenS) a.type = ATTR_STRING;
    else if (a.seenF) a.type = ATTR_FLOAT;
    else if (a.seenI) a.type = ATTR_INT;
    else if (a.floats.length > 0) a.type = ATTR_FLOATS;
    else if (a.ints.length > 0) a.type = ATTR_INTS;
    else if (a.graphs.length > 0) a.type = ATTR_GRAPHS;
    else if (a.strings.length > 0) a.type = ATTR_STRINGS;
  }
  return a;
}

function decodeValueInfo(r: Reader): ValueInfo | null {
  const v = new ValueInfo();
  while (r.next()) {
    if (r.field == 1) v.name = r.string();
    else if (r.field == 2) decodeType(r.sub("TypeProto"), v);
    else r.skip();
  }
  return failed() ? null : v;
}

function decodeType(r: Reader, v: ValueInfo): void {
  while (r.next()) {
    const f = r.field;
    if (f == 1) {
      v.kind = TYPE_TENSOR;
      const t = r.sub("TypeProto.Tensor");
      while (t.next()) {
        if (t.field == 1) v.elemType = t.int32();
        else if (t.field == 2) {
          v.hasShape = true;
          v.dims = new Array<i64>();
          const s = t.sub("TensorShapeProto");
          while (s.next()) {
            if (s.field == 1) {
              const d = s.sub("TensorShapeProto.Dimension");
              let value: i64 = -1;
              while (d.next()) {
                if (d.field == 1) value = d.int64();
                else d.skip();
              }
              v.dims.push(value < 0 ? -1 : value);
            } else s.skip();
          }
        } else t.skip();
      }
    } else if (f == TYPE_SEQUENCE || f == TYPE_OPTIONAL) {
      // elem_type (field 1) is a TypeProto: keep what it holds and its tensors' element type
      v.kind = f;
      const c = r.sub("TypeProto.Sequence");
      while (c.next()) {
        if (c.field == 1) {
          const inner = new ValueInfo();
          decodeType(c.sub("TypeProto"), inner);
          v.innerKind = inner.kind;
          v.elemType = inner.elemType;
          if (inner.innerKind != TYPE_NONE && inner.innerKind != TYPE_TENSOR) v.innerKind = TYPE_MAP; // nested beyond what the engine holds
        } else c.skip();
      }
    } else if (f == TYPE_MAP || f == TYPE_SPARSE) {
      v.kind = f;
      r.skip();
    } else r.skip();
  }
}
