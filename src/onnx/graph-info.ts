/**
 * What a model's main graph uses and declares, read with the bounds-checked protobuf reader:
 * its nodes' operators, its inputs (minus initializers) and outputs, and the ai.onnx opset.
 * Subgraphs (If/Loop/Scan bodies) are not walked; the If/Loop/Scan node itself is listed.
 */
import { fieldInt, fieldString, fields, ProtobufError } from './protobuf-reader.js';
import { readModelHeader } from './model-header.js';
import type { OpsetImport } from '../release/types.js';

export interface OpRef {
  /** '' in the file is reported as 'ai.onnx'. */
  readonly domain: string;
  readonly opType: string;
}

/** The kind of value a graph input or output holds (TypeProto's oneof). */
export type ValueKind = 'tensor' | 'sequence' | 'map' | 'optional' | 'sparse_tensor' | 'unknown';

export interface ValueInfo {
  readonly name: string;
  readonly kind: ValueKind;
  /** TensorProto.DataType of a tensor value, or of the tensors in a sequence or optional (0 when not declared). */
  readonly elemType: number;
  /** For a sequence or optional: the kind it holds. */
  readonly innerKind?: ValueKind;
}

export interface GraphInfo {
  /** Every node of the main graph, in order. */
  readonly nodes: readonly OpRef[];
  /** The distinct operators of the main graph, in order of first use. */
  readonly ops: readonly OpRef[];
  /** Declared graph inputs that are not initializers, in order. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Parallel to inputs / outputs. */
  readonly inputValues: readonly ValueInfo[];
  readonly outputValues: readonly ValueInfo[];
  /** The ai.onnx opset version, if the model imports it. */
  readonly opsetVersion: number | undefined;
  readonly opsets: readonly OpsetImport[];
}

/** 'Add' for ai.onnx operators, 'ai.onnx.ml.TreeEnsembleRegressor' for the others. */
export function opName(op: OpRef): string {
  return op.domain === 'ai.onnx' ? op.opType : `${op.domain}.${op.opType}`;
}

// ModelProto.graph
const MODEL_GRAPH = 7;
// GraphProto
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const GRAPH_SPARSE_INITIALIZER = 15;
// NodeProto
const NODE_OP_TYPE = 4;
const NODE_DOMAIN = 7;
// ValueInfoProto
const VALUE_NAME = 1;
const VALUE_TYPE = 2;
// TypeProto
const TYPE_KINDS: Readonly<Record<number, ValueKind>> = { 1: 'tensor', 4: 'sequence', 5: 'map', 8: 'sparse_tensor', 9: 'optional' };
// TypeProto.Tensor
const TENSOR_ELEM_TYPE = 1;
// TensorProto.name; SparseTensorProto.values
const TENSOR_NAME = 8;
const SPARSE_VALUES = 1;

export function readGraphInfo(modelBytes: Uint8Array): GraphInfo {
  const header = readModelHeader(modelBytes);
  let graph: Uint8Array | undefined;
  for (const field of fields(modelBytes)) {
    if (field.number === MODEL_GRAPH) {
      if (!field.bytes) throw new ProtobufError('graph is not a message');
      graph = field.bytes;
    }
  }
  if (!graph) throw new ProtobufError('no graph: this is not an ONNX ModelProto');

  const nodes: OpRef[] = [];
  const declaredInputs: ValueInfo[] = [];
  const outputValues: ValueInfo[] = [];
  const initializers = new Set<string>();
  for (const field of fields(graph)) {
    switch (field.number) {
      case GRAPH_NODE:
        nodes.push(readNode(message(field.bytes, 'node')));
        break;
      case GRAPH_INPUT:
        declaredInputs.push(readValueInfo(message(field.bytes, 'graph input')));
        break;
      case GRAPH_OUTPUT:
        outputValues.push(readValueInfo(message(field.bytes, 'graph output')));
        break;
      case GRAPH_INITIALIZER:
        initializers.add(tensorName(message(field.bytes, 'initializer')));
        break;
      case GRAPH_SPARSE_INITIALIZER:
        for (const f of fields(message(field.bytes, 'sparse_initializer'))) {
          if (f.number === SPARSE_VALUES) initializers.add(tensorName(message(f.bytes, 'sparse_initializer.values')));
        }
        break;
    }
  }
  const ops: OpRef[] = [];
  const seen = new Set<string>();
  for (const node of nodes) {
    const key = opName(node);
    if (!seen.has(key)) {
      seen.add(key);
      ops.push(node);
    }
  }
  const inputValues = declaredInputs.filter((v) => !initializers.has(v.name));
  return {
    nodes,
    ops,
    inputs: inputValues.map((v) => v.name),
    outputs: outputValues.map((v) => v.name),
    inputValues,
    outputValues,
    opsetVersion: header.opsets.find((o) => o.domain === 'ai.onnx')?.version,
    opsets: header.opsets,
  };
}

function message(bytes: Uint8Array | undefined, what: string): Uint8Array {
  if (!bytes) throw new ProtobufError(`${what} is not a message`);
  return bytes;
}

function readNode(bytes: Uint8Array): OpRef {
  let opType: string | undefined;
  let domain = '';
  for (const f of fields(bytes)) {
    if (f.number === NODE_OP_TYPE) opType = fieldString(f, 'node.op_type');
    else if (f.number === NODE_DOMAIN) domain = fieldString(f, 'node.domain');
  }
  if (!opType) throw new ProtobufError('node without an op_type');
  return { domain: domain === '' ? 'ai.onnx' : domain, opType };
}

function readValueInfo(bytes: Uint8Array): ValueInfo {
  let name = '';
  let type: Omit<ValueInfo, 'name'> = { kind: 'unknown', elemType: 0 };
  for (const f of fields(bytes)) {
    if (f.number === VALUE_NAME) name = fieldString(f, 'value_info.name');
    else if (f.number === VALUE_TYPE) type = readType(message(f.bytes, 'value_info.type'), 0);
  }
  return { name, ...type };
}

/** A TypeProto: its kind, and for sequences and optionals what they hold (TypeProto.Sequence/Optional field 1). */
function readType(bytes: Uint8Array, depth: number): Omit<ValueInfo, 'name'> {
  let kind: ValueKind = 'unknown';
  let elemType = 0;
  let innerKind: ValueKind | undefined;
  for (const t of fields(bytes)) {
    const k = TYPE_KINDS[t.number];
    if (!k) continue;
    kind = k;
    if (k === 'tensor') {
      for (const e of fields(message(t.bytes, 'type.tensor_type'))) {
        if (e.number === TENSOR_ELEM_TYPE) elemType = fieldInt(e, 'tensor_type.elem_type');
      }
    } else if ((k === 'sequence' || k === 'optional') && depth < 4) {
      for (const e of fields(message(t.bytes, `type.${k}_type`))) {
        if (e.number !== 1) continue;
        const inner = readType(message(e.bytes, `${k}_type.elem_type`), depth + 1);
        innerKind = inner.kind;
        elemType = inner.elemType;
        if (inner.innerKind !== undefined && inner.innerKind !== 'tensor') innerKind = 'unknown';
      }
    }
  }
  return innerKind === undefined ? { kind, elemType } : { kind, elemType, innerKind };
}

function tensorName(bytes: Uint8Array): string {
  let name = '';
  for (const f of fields(bytes)) if (f.number === TENSOR_NAME) name = fieldString(f, 'tensor.name');
  return name;
}
