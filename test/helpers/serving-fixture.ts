// Helpers for the serving runtime tests: a perturbed copy of the sample model (so a canary can
// disagree with the stable), raw signed admin requests (to tamper with), and inference calls.
import { readFile, writeFile } from 'node:fs/promises';
import { fields } from '../../src/onnx/protobuf-reader.js';
import { signAdminRequest } from '../../src/serving-client/admin-signing.js';

/**
 * Writes a copy of the ONNX model with the float32 initializer `name` (stored as raw_data)
 * overwritten by `values`: the same graph and I/O, different predictions.
 */
export async function writePerturbedModel(source: string, out: string, name: string, values: readonly number[]): Promise<void> {
  const bytes = await readFile(source);
  let raw: Uint8Array | undefined;
  for (const model of fields(bytes)) {
    if (model.number !== 7 || !model.bytes) continue; // ModelProto.graph
    for (const graph of fields(model.bytes)) {
      if (graph.number !== 5 || !graph.bytes) continue; // GraphProto.initializer
      let tensorName: string | undefined;
      let data: Uint8Array | undefined;
      for (const f of fields(graph.bytes)) {
        if (f.number === 8 && f.bytes) tensorName = Buffer.from(f.bytes).toString('utf8'); // TensorProto.name
        if (f.number === 9 && f.bytes) data = f.bytes; // TensorProto.raw_data
      }
      if (tensorName === name) raw = data;
    }
  }
  if (!raw || raw.length !== values.length * 4) throw new Error(`${source}: no float32 raw_data initializer ${name} of ${values.length} values`);
  // `raw` is a view into `bytes`: writing through it edits the model in place.
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  await writeFile(out, bytes);
}

export interface AdminCall {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
}

export interface AdminTamper {
  /** Send no signature headers at all. */
  readonly unsigned?: boolean;
  readonly secret?: string;
  readonly timestamp?: number;
  readonly nonce?: string;
  /** Sign one body, send another. */
  readonly sendBody?: string;
}

export interface HttpAnswer<T = any> {
  readonly status: number;
  readonly json: T;
}

/** A signed (or deliberately mis-signed) admin request, answered with its status and JSON. */
export async function adminRequest<T = any>(baseUrl: string, secret: string, call: AdminCall, tamper: AdminTamper = {}): Promise<HttpAnswer<T>> {
  const body = call.body === undefined ? '' : JSON.stringify(call.body);
  const headers: Record<string, string> = tamper.unsigned
    ? {}
    : signAdminRequest({ secret: tamper.secret ?? secret, method: call.method, pathWithQuery: call.path, body, timestamp: tamper.timestamp, nonce: tamper.nonce });
  const sent = tamper.sendBody ?? body;
  const response = await fetch(baseUrl + call.path, { method: call.method, headers: { ...headers, 'content-type': 'application/json' }, body: sent || undefined });
  return { status: response.status, json: (await response.json()) as T };
}

export interface InferAnswer {
  readonly model: string;
  readonly slot: 'stable' | 'canary';
  readonly version: string;
  readonly digest: string;
  readonly outputs: Record<string, { dims: number[]; data: number[] }>;
  readonly latencyMs: number;
  readonly error?: string;
}

/** POST /v1/models/{model}/infer with `features` rows, optionally keyed. */
export async function inferFeatures(baseUrl: string, model: string, rows: readonly (readonly number[])[], key?: string): Promise<HttpAnswer<InferAnswer>> {
  const body = { inputs: { features: { dims: [rows.length, 4], data: rows.flat() } } };
  return postJson(`${baseUrl}/v1/models/${encodeURIComponent(model)}/infer`, body, key === undefined ? {} : { 'x-request-key': key });
}

export async function postJson<T = any>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer<T>> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as T };
}

// --- A tiny ONNX model, encoded by hand, that warms up on zeros but fails at run time on some inputs.

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
const fieldVarint = (field: number, value: number) => [...varint(field << 3), ...varint(value)];
const fieldBytes = (field: number, bytes: readonly number[] | Uint8Array) => [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
const fieldString = (field: number, text: string) => fieldBytes(field, Buffer.from(text, 'utf8'));

/** ValueInfoProto of a 1-D tensor with a symbolic length. */
function vectorValueInfo(name: string, elemType: number, dimParam: string): number[] {
  const dim = fieldString(2, dimParam); // TensorShapeProto.Dimension.dim_param
  const shape = fieldBytes(1, dim); // TensorShapeProto.dim
  const tensorType = [...fieldVarint(1, elemType), ...fieldBytes(2, shape)]; // TypeProto.Tensor: elem_type, shape
  return [...fieldString(1, name), ...fieldBytes(2, fieldBytes(1, tensorType))]; // ValueInfoProto: name, type{tensor_type}
}

/**
 * `out = Reshape(data, shape)`, data float32 [n], shape int64 [k]. The warm-up (data [0.], shape
 * [0]: "keep dim 0") runs; a request whose shape does not fit the data fails inside onnxruntime.
 */
export function reshapeModelBytes(): Buffer {
  const node = [...fieldString(1, 'data'), ...fieldString(1, 'shape'), ...fieldString(2, 'out'), ...fieldString(4, 'Reshape')];
  const graph = [
    ...fieldBytes(1, node),
    ...fieldString(2, 'reshape'),
    ...fieldBytes(11, vectorValueInfo('data', 1, 'n')),
    ...fieldBytes(11, vectorValueInfo('shape', 7, 'k')),
    ...fieldBytes(12, vectorValueInfo('out', 1, 'm')),
  ];
  const opset = [...fieldString(1, ''), ...fieldVarint(2, 17)];
  return Buffer.from([...fieldVarint(1, 8), ...fieldString(2, 'modelship-tests'), ...fieldBytes(7, graph), ...fieldBytes(8, opset)]);
}

/** ONNX TensorProto element types by onnxruntime name. */
export const ONNX_ELEM_TYPE = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, string: 8, bool: 9, float16: 10, float64: 11, uint32: 12, uint64: 13,
} as const;

/** ValueInfoProto of a 2-D tensor with symbolic dims `${name}_rows` × `${name}_cols`. */
function matrixValueInfo(name: string, elemType: number): number[] {
  const shape = [...fieldBytes(1, fieldString(2, `${name}_rows`)), ...fieldBytes(1, fieldString(2, `${name}_cols`))];
  const tensorType = [...fieldVarint(1, elemType), ...fieldBytes(2, shape)];
  return [...fieldString(1, name), ...fieldBytes(2, fieldBytes(1, tensorType))];
}

/**
 * One `Identity` per element type: input `in_<type>` → output `out_<type>`, each 2-D with free
 * dims. onnxruntime copies every type through, so a request's tensors must come back unchanged.
 */
export function identityModelBytes(types: readonly (keyof typeof ONNX_ELEM_TYPE)[]): Buffer {
  const graph: number[] = [];
  for (const t of types) graph.push(...fieldBytes(1, [...fieldString(1, `in_${t}`), ...fieldString(2, `out_${t}`), ...fieldString(4, 'Identity')]));
  graph.push(...fieldString(2, 'identity'));
  for (const t of types) graph.push(...fieldBytes(11, matrixValueInfo(`in_${t}`, ONNX_ELEM_TYPE[t])));
  for (const t of types) graph.push(...fieldBytes(12, matrixValueInfo(`out_${t}`, ONNX_ELEM_TYPE[t])));
  const opset = [...fieldString(1, ''), ...fieldVarint(2, 17)];
  return Buffer.from([...fieldVarint(1, 8), ...fieldString(2, 'modelship-tests'), ...fieldBytes(7, graph), ...fieldBytes(8, opset)]);
}
