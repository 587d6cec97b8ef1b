/**
 * The shapes a model declares for its graph inputs, read from the ModelProto with the
 * bounds-checked protobuf reader. onnxruntime's metadata shows an unknown rank and a scalar
 * alike (both `[]`); the file tells them apart, and tells a named symbolic dimension
 * (dim_param) from an anonymous one.
 */
import { fieldInt, fieldString, fields, ProtobufError } from './protobuf-reader.js';

/** A fixed size, a symbolic name, or null for a dimension the model leaves anonymous. */
export type DeclaredDim = number | string | null;

export interface DeclaredInput {
  readonly name: string;
  /** undefined: the model declares no shape, so even the rank is unknown. */
  readonly dims: readonly DeclaredDim[] | undefined;
}

const MODEL_GRAPH = 7;
const GRAPH_INPUT = 11;
const VALUE_NAME = 1;
const VALUE_TYPE = 2;
const TYPE_TENSOR = 1;
const TENSOR_SHAPE = 2;
const SHAPE_DIM = 1;
const DIM_VALUE = 1;
const DIM_PARAM = 2;

export function readDeclaredInputs(modelBytes: Uint8Array): DeclaredInput[] {
  const inputs: DeclaredInput[] = [];
  for (const field of fields(modelBytes)) {
    if (field.number !== MODEL_GRAPH) continue;
    for (const g of fields(message(field.bytes, 'graph'))) {
      if (g.number === GRAPH_INPUT) inputs.push(readValueInfo(message(g.bytes, 'graph input')));
    }
  }
  return inputs;
}

function readValueInfo(bytes: Uint8Array): DeclaredInput {
  let name = '';
  let dims: DeclaredDim[] | undefined;
  for (const f of fields(bytes)) {
    if (f.number === VALUE_NAME) name = fieldString(f, 'input name');
    else if (f.number === VALUE_TYPE) {
      for (const t of fields(message(f.bytes, 'input type'))) {
        if (t.number !== TYPE_TENSOR) continue;
        for (const s of fields(message(t.bytes, 'tensor type'))) if (s.number === TENSOR_SHAPE) dims = readShape(message(s.bytes, 'tensor shape'));
      }
    }
  }
  return { name, dims };
}

function readShape(bytes: Uint8Array): DeclaredDim[] {
  const dims: DeclaredDim[] = [];
  for (const f of fields(bytes)) {
    if (f.number !== SHAPE_DIM) continue;
    let dim: DeclaredDim = null;
    for (const d of fields(message(f.bytes, 'dimension'))) {
      if (d.number === DIM_VALUE) dim = fieldInt(d, 'dim_value');
      else if (d.number === DIM_PARAM) dim = fieldString(d, 'dim_param') || null;
    }
    // A negative dim_value is how some exporters (Paddle's) write "any size".
    dims.push(typeof dim === 'number' && dim < 0 ? null : dim);
  }
  return dims;
}

function message(bytes: Uint8Array | undefined, what: string): Uint8Array {
  if (!bytes) throw new ProtobufError(`${what} is not a message`);
  return bytes;
}
