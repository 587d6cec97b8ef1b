// Hand-built ONNX models for engine tests (a minimal protobuf writer), and running them in the
// sandboxed engine and in onnxruntime-node for comparison.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import createPlugin, { type Plugin } from '@extism/extism';
import ort from 'onnxruntime-node';
import { PROJECT_ROOT } from '../../src/paths.js';
import { decodeResponse, encodeRequest, type Tensor, type TensorType } from '../../src/sandbox/tensor-codec.js';
import { seededRandom } from '../../src/smoke/seeded-random.js';
import { type Bytes, pbBytes, pbFloat, pbInt, pbMsg, pbStr, varint } from './protobuf.js';

export { type Bytes, pbBytes, pbInt, pbMsg, pbStr, varint } from './protobuf.js';

export const FLOAT = 1;
export const INT32 = 6;
export const INT64 = 7;
export const BOOL = 9;

/** ValueInfoProto (graph input 11 / output 12); `dims` undefined: no shape. */
export function valueInfo(field: number, name: string, elemType: number, dims?: readonly (number | string)[]): Bytes {
  const shape = dims === undefined ? [] : [pbMsg(2, ...dims.map((d) => pbMsg(1, typeof d === 'number' ? pbInt(1, d) : pbStr(2, d))))];
  return pbMsg(field, pbStr(1, name), pbMsg(2, pbMsg(1, pbInt(1, elemType), ...shape)));
}
export const input = (name: string, elemType: number, dims?: readonly (number | string)[]): Bytes => valueInfo(11, name, elemType, dims);
export const output = (name: string, elemType: number, dims?: readonly (number | string)[]): Bytes => valueInfo(12, name, elemType, dims);

export function node(op: string, name: string, inputs: string[], outputs: string[], ...attrs: Bytes[]): Bytes {
  return pbMsg(1, ...inputs.map((i) => pbStr(1, i)), ...outputs.map((o) => pbStr(2, o)), pbStr(3, name), pbStr(4, op), ...attrs);
}
/** A node of another domain. */
export function domainNode(domain: string, op: string, name: string, inputs: string[], outputs: string[]): Bytes {
  return pbMsg(1, ...inputs.map((i) => pbStr(1, i)), ...outputs.map((o) => pbStr(2, o)), pbStr(3, name), pbStr(4, op), pbStr(7, domain));
}

export const attrInt = (name: string, v: number): Bytes => pbMsg(5, pbStr(1, name), pbInt(20, 2), pbInt(3, v));
export const attrFloat = (name: string, v: number): Bytes => pbMsg(5, pbStr(1, name), pbInt(20, 1), pbFloat(2, v));
export const attrString = (name: string, v: string): Bytes => pbMsg(5, pbStr(1, name), pbInt(20, 3), pbStr(4, v));
export const attrInts = (name: string, vs: readonly number[]): Bytes => pbMsg(5, pbStr(1, name), pbInt(20, 7), ...vs.map((v) => pbInt(8, v)));
export const attrFloats = (name: string, vs: readonly number[]): Bytes => pbMsg(5, pbStr(1, name), pbInt(20, 6), ...vs.map((v) => pbFloat(7, v)));
export const attrStrings = (name: string, vs: readonly string[]): Bytes => pbMsg(5, pbStr(1, name), pbInt(20, 8), ...vs.map((v) => pbStr(9, v)));
/** A GRAPH attribute whose GraphProto holds `parts` (nodes, inputs, outputs, initializers). */
export const attrGraph = (name: string, graphName: string, parts: Bytes[]): Bytes => pbMsg(5, pbStr(1, name), pbInt(20, 5), pbMsg(6, ...parts, pbStr(2, graphName)));

/** TensorProto bytes (raw_data) for float32, int64, int32 or bool values. */
export function tensorProto(name: string, elemType: number, dims: readonly number[], values: readonly number[]): Bytes {
  let raw: Buffer;
  if (elemType === FLOAT) raw = Buffer.from(new Float32Array(values).buffer);
  else if (elemType === INT64) raw = Buffer.from(new BigInt64Array(values.map((v) => BigInt(v))).buffer);
  else if (elemType === INT32) raw = Buffer.from(new Int32Array(values).buffer);
  else if (elemType === BOOL) raw = Buffer.from(Uint8Array.from(values));
  else throw new Error(`tensorProto: element type ${elemType}`);
  return [...dims.flatMap((d) => pbInt(1, d)), ...pbInt(2, elemType), ...pbStr(8, name), ...pbBytes(9, [...raw])];
}
export const initializer = (name: string, elemType: number, dims: readonly number[], values: readonly number[]): Bytes => pbMsg(5, tensorProto(name, elemType, dims, values));
/** A Constant node holding the tensor. */
export const constant = (out: string, elemType: number, dims: readonly number[], values: readonly number[]): Bytes =>
  node('Constant', `const_${out}`, [], [out], pbMsg(5, pbStr(1, 'value'), pbInt(20, 4), pbMsg(5, tensorProto('', elemType, dims, values))));

export function model(opset: number, graph: Bytes[]): Uint8Array {
  return Uint8Array.from([...pbInt(1, 8), ...pbMsg(7, ...graph, pbStr(2, 'g')), ...pbMsg(8, pbStr(1, ''), pbInt(2, opset))]);
}

// ---- tensors ----

export function floatTensor(name: string, dims: number[], seed: number, scale = 2): Tensor {
  const next = seededRandom(seed);
  const values = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = (next() * 2 - 1) * scale;
  return { name, type: 'float32', dims, data: new Uint8Array(values.buffer) };
}
export const floats = (name: string, dims: number[], values: readonly number[]): Tensor => ({ name, type: 'float32', dims, data: new Uint8Array(new Float32Array(values).buffer) });
export const int64s = (name: string, dims: number[], values: readonly number[]): Tensor => ({ name, type: 'int64', dims, data: new Uint8Array(new BigInt64Array(values.map((v) => BigInt(v))).buffer) });
export const int32s = (name: string, dims: number[], values: readonly number[]): Tensor => ({ name, type: 'int32', dims, data: new Uint8Array(new Int32Array(values).buffer) });
export const bools = (name: string, dims: number[], values: readonly boolean[]): Tensor => ({ name, type: 'bool', dims, data: Uint8Array.from(values.map((v) => (v ? 1 : 0))) });

export function typed(t: Tensor): Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array {
  const buffer = Uint8Array.from(t.data).buffer;
  switch (t.type) {
    case 'float32': return new Float32Array(buffer);
    case 'float64': return new Float64Array(buffer);
    case 'int64': return new BigInt64Array(buffer);
    case 'int32': return new Int32Array(buffer);
    case 'int8': return new Int8Array(buffer);
    default: return new Uint8Array(buffer);
  }
}

// ---- running ----

const WASM_PATH = join(PROJECT_ROOT, 'dist', 'plugins', 'onnx-engine.wasm');
let wasm: Uint8Array | undefined;

export async function newPlugin(): Promise<Plugin> {
  wasm ??= new Uint8Array(await readFile(WASM_PATH));
  return createPlugin({ wasm: [{ data: wasm }] }, { useWasi: false });
}

/** Runs the engine on an exact-size copy of the request (Extism 1.0.3 ignores a view's offset). */
export async function runEngine(plugin: Plugin, bytes: Uint8Array, inputs: readonly Tensor[]): Promise<Tensor[]> {
  const out = await plugin.call('run', new Uint8Array(encodeRequest(bytes, inputs)));
  assert.ok(out, 'the engine returned no output');
  return decodeResponse(out.bytes());
}

export async function runNative(bytes: Uint8Array, inputs: readonly Tensor[]): Promise<Tensor[]> {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4 });
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs) {
      const values = typed(t);
      feeds[t.name] = new ort.Tensor(t.type as 'float32', t.type === 'bool' ? (Uint8Array.from(values as Uint8Array) as unknown as Float32Array) : (values as Float32Array), [...t.dims]);
    }
    const results = await session.run(feeds);
    return session.outputNames.map((name) => {
      const v = results[name]!;
      const data = v.data as ArrayBufferView;
      return { name, type: v.type as TensorType, dims: [...v.dims].map(Number), data: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
    });
  } finally {
    await session.release();
  }
}

/** Same names, types and shapes; floats within atol + rtol·|want|, everything else exact. */
export function assertClose(got: readonly Tensor[], want: readonly Tensor[], atol: number, rtol = 0): void {
  assert.deepEqual(
    got.map((t) => ({ name: t.name, type: t.type, dims: t.dims })),
    want.map((t) => ({ name: t.name, type: t.type, dims: t.dims })),
  );
  for (let k = 0; k < got.length; k++) {
    const a = typed(got[k]!);
    const b = typed(want[k]!);
    assert.equal(a.length, b.length);
    const float = got[k]!.type === 'float32' || got[k]!.type === 'float64';
    for (let i = 0; i < a.length; i++) {
      if (!float) {
        assert.equal(a[i], b[i], `${got[k]!.name}[${i}]`);
        continue;
      }
      const x = a[i] as number;
      const y = b[i] as number;
      const d = Math.abs(x - y);
      assert.ok(d <= atol + rtol * Math.abs(y), `${got[k]!.name}[${i}]: engine ${x} vs onnxruntime ${y} (|diff| ${d})`);
    }
  }
}

/** Runs both and compares. */
export async function assertMatchesNative(plugin: Plugin, bytes: Uint8Array, inputs: readonly Tensor[], atol = 1e-5, rtol = 1e-4): Promise<Tensor[]> {
  const got = await runEngine(plugin, bytes, inputs);
  assertClose(got, await runNative(bytes, inputs), atol, rtol);
  return got;
}

interface WasmApi {
  RuntimeError: new (message?: string) => Error;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const isTrap = (err: unknown): boolean => err instanceof WA.RuntimeError;

/** The call must reject with a plugin-reported error (never a trap) matching `pattern`. */
export async function expectRejection(plugin: Plugin, bytes: Uint8Array, inputs: readonly Tensor[], pattern: RegExp): Promise<string> {
  let caught: unknown;
  try {
    await runEngine(plugin, bytes, inputs);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof Error, 'the call should have rejected');
  assert.ok(!isTrap(caught), `the plugin trapped: ${caught.message}`);
  assert.match(caught.message, /^Plugin-originated error: /);
  assert.match(caught.message, pattern);
  return caught.message;
}
