/**
 * Host-side fix-ups of a model's bytes for the sandbox engine only. The bundle's model stays as
 * signed: a fix-up returns new bytes for the sandbox, with what it changed and their SHA-256, so
 * smoke records it in the Test Result. Each fix-up is deterministic (a function of the bytes) and
 * leaves the computation unchanged.
 *
 * subgraph-declared-shapes: onnxruntime checks the shapes a subgraph (If branch, Loop/Scan body)
 * declares for its outputs against what it infers. On a conflict (e.g. SLANet-plus declares a
 * scalar `[]` where the branch yields `[1]`) onnxruntime-node logs "Falling back to lenient merge"
 * and keeps the union of the two; that fallback lives in a C++ catch block, which the WebAssembly
 * build (compiled without exceptions) does not have — its wasm holds no "lenient merge" string —
 * so it refuses the model with "[ShapeInferenceError] Mismatch between number of inferred and
 * declared dimensions" at every optimization level, and no session option reaches that path
 * (session.strict_shape_type_inference is already 0). Declared shapes inside subgraphs are hints:
 * removing them (element types kept) leaves onnxruntime to infer them, which is what the lenient
 * merge ends with for a rank conflict. The main graph's inputs and outputs are not touched.
 */
import { createHash } from 'node:crypto';
import { CorruptModelError } from '../errors/index.js';
import { fields, fieldString, ProtobufError } from '../onnx/protobuf-reader.js';
import { rewriteMessage } from '../onnx/protobuf-writer.js';

export interface ModelFixup {
  /** Stable name of the fix-up. */
  readonly id: 'subgraph-declared-shapes';
  /** What was changed and why, for the Test Result. */
  readonly description: string;
  /** Each value whose declared shape was removed, as `<node path>: <output|value_info> <name>`. */
  readonly changed: readonly string[];
  /** The bytes handed to the sandbox. */
  readonly bytes: Uint8Array;
  /** SHA-256 (hex) of `bytes`. */
  readonly sha256: string;
}

/** The refusal subgraph-declared-shapes answers (onnxruntime's message, as the sandbox reports it). */
const DECLARED_SHAPE_MISMATCH = /\[ShapeInferenceError\] Mismatch between number of inferred and declared dimensions/;

/** Whether an engine load failure is the one subgraph-declared-shapes fixes. */
export function isDeclaredShapeMismatch(engineMessage: string): boolean {
  return DECLARED_SHAPE_MISMATCH.test(engineMessage);
}

/**
 * The fix-up for a model the sandbox engine refused with `engineMessage` at load, or null when no
 * fix-up applies (another refusal, or no subgraph declares a shape to remove).
 */
export function sandboxFixupFor(model: Uint8Array, engineMessage: string): ModelFixup | null {
  return isDeclaredShapeMismatch(engineMessage) ? removeSubgraphDeclaredShapes(model) : null;
}

/** Removes the declared shapes of every subgraph's outputs and value_info; null if there are none. */
export function removeSubgraphDeclaredShapes(model: Uint8Array): ModelFixup | null {
  const changed: string[] = [];
  let bytes: Uint8Array | undefined;
  try {
    // ModelProto.graph = 7.
    bytes = rewrite(model, (f) => (f.number === 7 && f.bytes ? rewriteGraph(f.bytes, 'graph', false, changed) : undefined));
  } catch (err) {
    if (err instanceof ProtobufError) throw new CorruptModelError(`cannot read the model to fix it up for the sandbox: ${err.message}`);
    throw err;
  }
  if (!bytes || !changed.length) return null;
  return {
    id: 'subgraph-declared-shapes',
    description:
      `declared shapes removed from ${changed.length} subgraph value${changed.length === 1 ? '' : 's'} (element types kept) for the sandbox only: ` +
      'onnxruntime-node merges a declared shape that conflicts with inference leniently, onnxruntime-web (built without C++ exceptions) refuses the model instead; ' +
      'the signed model is unchanged',
    changed,
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

const rewrite = rewriteMessage;

// GraphProto: node = 1, output = 12, value_info = 13. NodeProto: name = 3, op_type = 4, attribute = 5.
// AttributeProto: name = 1, g = 6, graphs = 11.
function rewriteGraph(graph: Uint8Array, path: string, subgraph: boolean, changed: string[]): Uint8Array | undefined {
  return rewrite(graph, (f) => {
    if (!f.bytes) return undefined;
    if (f.number === 1) return rewriteNode(f.bytes, path, changed);
    if (subgraph && (f.number === 12 || f.number === 13)) {
      const what = f.number === 12 ? 'output' : 'value_info';
      const name = valueName(f.bytes);
      const cleared = rewrite(f.bytes, (v) => (v.number === 2 && v.bytes ? clearTypeShape(v.bytes) : undefined));
      if (cleared) changed.push(`${path}: ${what} ${name}`);
      return cleared;
    }
    return undefined;
  });
}

function rewriteNode(node: Uint8Array, parent: string, changed: string[]): Uint8Array | undefined {
  let name = '';
  let op = '';
  for (const f of fields(node)) {
    if (f.number === 3) name = fieldString(f, 'node name');
    else if (f.number === 4) op = fieldString(f, 'node op_type');
  }
  return rewrite(node, (f) => {
    if (f.number !== 5 || !f.bytes) return undefined;
    let attr = '';
    for (const a of fields(f.bytes)) if (a.number === 1) attr = fieldString(a, 'attribute name');
    let index = 0;
    return rewrite(f.bytes, (a) => {
      if (!a.bytes) return undefined;
      if (a.number === 6) return rewriteGraph(a.bytes, `${parent}/${op} '${name}'.${attr}`, true, changed);
      if (a.number === 11) return rewriteGraph(a.bytes, `${parent}/${op} '${name}'.${attr}[${index++}]`, true, changed);
      return undefined;
    });
  });
}

function valueName(valueInfo: Uint8Array): string {
  for (const f of fields(valueInfo)) if (f.number === 1) return fieldString(f, 'value name');
  return '';
}

// TypeProto: tensor_type = 1, sequence_type = 4, optional_type = 9, sparse_tensor_type = 8.
// Tensor and SparseTensor: shape = 2. Sequence and Optional: elem_type = 1 (a TypeProto).
function clearTypeShape(type: Uint8Array): Uint8Array | undefined {
  return rewrite(type, (f) => {
    if (!f.bytes) return undefined;
    if (f.number === 1 || f.number === 8) return rewrite(f.bytes, (t) => (t.number === 2 ? null : undefined));
    if (f.number === 4 || f.number === 9) return rewrite(f.bytes, (e) => (e.number === 1 && e.bytes ? clearTypeShape(e.bytes) : undefined));
    return undefined;
  });
}
