// What an operator implementation sees: its node, the ai.onnx opset, its input tensors,
// typed attribute getters, and helpers that word errors consistently.
import { failed, modelError, unsupported } from "../errors";
import { ATTR_FLOAT, ATTR_FLOATS, ATTR_INT, ATTR_INTS, ATTR_STRING, ATTR_STRINGS, ATTR_TENSOR, Attribute, Node, attrTypeName } from "../onnx/model";
import { Scope } from "../scope";
import { FLOAT, INT64, Tensor, dimsToString, typeName } from "../tensor";

export class OpContext {
  node: Node;
  opset: i32;
  inputs: Array<Tensor | null>;
  outputs: Array<Tensor | null>;
  /** The value table the node runs in (control-flow ops run their subgraphs inside it). */
  scope: Scope | null = null;

  constructor(node: Node, opset: i32, inputs: Array<Tensor | null>) {
    this.node = node;
    this.opset = opset;
    this.inputs = inputs;
    this.outputs = new Array<Tensor | null>(node.outputs.length);
  }

  /** `Add (node "add0")` */
  label(): string {
    return this.node.opType + " (" + this.node.label() + ")";
  }

  error(msg: string): void {
    modelError(this.label() + ": " + msg);
  }

  get inputCount(): i32 {
    return this.inputs.length;
  }

  has(i: i32): bool {
    return i < this.inputs.length && unchecked(this.inputs[i]) !== null;
  }

  optional(i: i32): Tensor | null {
    return i < this.inputs.length ? unchecked(this.inputs[i]) : null;
  }

  /** A required input. */
  input(i: i32, schemaName: string): Tensor | null {
    if (failed()) return null;
    const t = this.optional(i);
    if (t === null) this.error("missing required input " + schemaName + " (input " + i.toString() + ")");
    return t;
  }

  unsupportedType(t: Tensor, schemaName: string): void {
    unsupported("data type " + typeName(t.dtype) + " for input " + schemaName + " of " + this.label());
  }

  /** A required float32 input. */
  float(i: i32, schemaName: string): Tensor | null {
    const t = this.input(i, schemaName);
    if (t === null) return null;
    if (t.dtype != FLOAT) {
      this.unsupportedType(t, schemaName);
      return null;
    }
    return t;
  }

  /** An optional float32 input (null when absent or on error). */
  optFloat(i: i32, schemaName: string): Tensor | null {
    const t = this.optional(i);
    if (t === null || failed()) return null;
    if (t.dtype != FLOAT) {
      this.unsupportedType(t, schemaName);
      return null;
    }
    return t;
  }

  /** An int64 input (for shapes and axes); `optional` allows it to be absent. */
  int64(i: i32, schemaName: string, isOptional: bool): Tensor | null {
    const t = isOptional ? this.optional(i) : this.input(i, schemaName);
    if (t === null || failed()) return null;
    if (t.dtype != INT64) {
      this.unsupportedType(t, schemaName);
      return null;
    }
    return t;
  }

  /** The values of a 0-D or 1-D int64 input. */
  int64Values(t: Tensor, schemaName: string): Array<i64> | null {
    if (t.rank > 1) {
      this.error("input " + schemaName + " must be 0-D or 1-D, has shape " + dimsToString(t.dims));
      return null;
    }
    const out = new Array<i64>(t.size);
    for (let i = 0; i < t.size; i++) unchecked((out[i] = t.getI64(i)));
    return out;
  }

  wantsOutput(i: i32): bool {
    return i < this.node.outputs.length && unchecked(this.node.outputs[i]).length > 0;
  }

  setOutput(i: i32, t: Tensor | null): void {
    if (i < this.outputs.length) unchecked((this.outputs[i] = t));
  }

  // ---- attributes ----

  private typed(name: string, type: i32): Attribute | null {
    const a = this.node.attr(name);
    if (a === null) return null;
    if (a.type != type) {
      this.error("attribute " + name + " has type " + attrTypeName(a.type) + ", expected " + attrTypeName(type));
      return null;
    }
    return a;
  }

  hasAttr(name: string): bool {
    return this.node.attr(name) !== null;
  }

  attrInt(name: string, def: i64): i64 {
    const a = this.typed(name, ATTR_INT);
    return a === null ? def : a.i;
  }

  attrFloat(name: string, def: f32): f32 {
    const a = this.typed(name, ATTR_FLOAT);
    return a === null ? def : a.f;
  }

  attrString(name: string, def: string): string {
    const a = this.typed(name, ATTR_STRING);
    return a === null ? def : a.s;
  }

  attrInts(name: string): Array<i64> | null {
    const a = this.typed(name, ATTR_INTS);
    return a === null ? null : a.ints;
  }

  attrStrings(name: string): Array<string> | null {
    const a = this.typed(name, ATTR_STRINGS);
    return a === null ? null : a.strings;
  }

  attrFloats(name: string): Array<f32> | null {
    const a = this.typed(name, ATTR_FLOATS);
    return a === null ? null : a.floats;
  }

  attrTensor(name: string): Tensor | null {
    const a = this.typed(name, ATTR_TENSOR);
    return a === null ? null : a.t;
  }

  unsupportedAttr(name: string, value: string): void {
    unsupported("attribute value " + name + "=" + value + " for " + this.label());
  }

  /** Normalizes an axis in [-rank, rank) to [0, rank); -1 (with an error) when out of range. */
  axis(value: i64, rank: i32, what: string): i32 {
    if (value < -<i64>rank || value >= <i64>rank) {
      this.error(what + " " + value.toString() + " is out of range for rank " + rank.toString());
      return -1;
    }
    return <i32>(value < 0 ? value + rank : value);
  }
}
