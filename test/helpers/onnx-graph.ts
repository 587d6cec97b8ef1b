// Builds small single-purpose ONNX models in memory (a minimal protobuf writer) and runs them
// through the sandboxed engine and through onnxruntime-node, for operator tests that compare
// the two. Tensors use the sandbox codec's type (src/sandbox/tensor-codec.ts).
import assert from 'node:assert/strict';
import { answerNativeRequest } from '../../src/native/ort-session.js';
import { runOnnxInSandbox } from '../../src/sandbox/onnx-engine.js';
import { SandboxEngineError } from '../../src/errors/index.js';
import { ONNX_DATA_TYPE, type Tensor, type TensorType } from '../../src/tensor/tensor.js';
import { seededRandom } from '../../src/smoke/seeded-random.js';
import { type Bytes, pbBytes, pbFloat, pbInt, pbMsg, pbStr } from './protobuf.js';

/** An attribute value: number (int if integral and `int` is not false), string, number[] (ints or floats), or a tensor. */
export type AttrValue = number | string | { ints: readonly number[] } | { floats: readonly number[] } | { float: number } | { tensor: Tensor };

function tensorProto(t: Tensor): Bytes {
  return [...t.dims.flatMap((d) => pbInt(1, d)), ...pbInt(2, ONNX_DATA_TYPE[t.type]), ...pbStr(8, t.name), ...pbBytes(9, t.data)];
}

function attribute(name: string, v: AttrValue): Bytes {
  if (typeof v === 'string') return pbMsg(5, pbStr(1, name), pbInt(20, 3), pbStr(4, v));
  if (typeof v === 'number') return pbMsg(5, pbStr(1, name), pbInt(20, 2), pbInt(3, v));
  if ('float' in v) return pbMsg(5, pbStr(1, name), pbInt(20, 1), pbFloat(2, v.float));
  if ('ints' in v) return pbMsg(5, pbStr(1, name), pbInt(20, 7), ...v.ints.map((i) => pbInt(8, i)));
  if ('floats' in v) return pbMsg(5, pbStr(1, name), pbInt(20, 6), ...v.floats.map((f) => pbFloat(7, f)));
  return pbMsg(5, pbStr(1, name), pbInt(20, 4), pbMsg(5, tensorProto(v.tensor)));
}

export interface NodeSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs?: Readonly<Record<string, AttrValue>>;
  readonly name?: string;
  readonly domain?: string;
}

export interface ValueSpec {
  readonly name: string;
  readonly type: TensorType;
  /** Omitted: no shape (the engine and onnxruntime infer it). */
  readonly dims?: readonly (number | string)[];
}

export interface GraphSpec {
  readonly opset: number;
  readonly nodes: readonly NodeSpec[];
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
  readonly initializers?: readonly Tensor[];
}

function valueInfo(field: number, v: ValueSpec): Bytes {
  const type = [...pbInt(1, ONNX_DATA_TYPE[v.type])];
  if (v.dims) type.push(...pbMsg(2, ...v.dims.map((d) => pbMsg(1, typeof d === 'number' ? pbInt(1, d) : pbStr(2, d)))));
  return pbMsg(field, pbStr(1, v.name), pbMsg(2, pbMsg(1, type)));
}

export function buildModel(g: GraphSpec): Uint8Array {
  const nodes = g.nodes.map((n, i) =>
    pbMsg(
      1,
      ...n.inputs.map((x) => pbStr(1, x)),
      ...n.outputs.map((x) => pbStr(2, x)),
      pbStr(3, n.name ?? `${n.op.toLowerCase()}${i}`),
      pbStr(4, n.op),
      ...(n.domain ? [pbStr(7, n.domain)] : []),
      ...Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
    ),
  );
  const graph = [
    ...nodes,
    pbStr(2, 'g'),
    ...(g.initializers ?? []).map((t) => pbMsg(5, tensorProto(t))),
    ...g.inputs.map((v) => valueInfo(11, v)),
    ...g.outputs.map((v) => valueInfo(12, v)),
  ];
  return Uint8Array.from([...pbInt(1, 8), ...pbMsg(7, ...graph), ...pbMsg(8, pbStr(1, ''), pbInt(2, g.opset))]);
}

/** A one-node model: inputs named as the node's (empty names skipped), constant ones as initializers. */
export function singleOp(opset: number, node: NodeSpec, inputs: readonly ValueSpec[], outputs: readonly ValueSpec[], initializers: readonly Tensor[] = []): Uint8Array {
  return buildModel({ opset, nodes: [node], inputs, outputs, initializers });
}

// ---- tensors ----

type TypedArrayConstructor =
  | Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor | BigInt64ArrayConstructor | Int8ArrayConstructor | Uint8ArrayConstructor
  | Int16ArrayConstructor | Uint16ArrayConstructor | Uint32ArrayConstructor | BigUint64ArrayConstructor;
const ARRAYS: Partial<Record<TensorType, TypedArrayConstructor>> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  float16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
};

function arrayType(type: TensorType): TypedArrayConstructor {
  const a = ARRAYS[type];
  if (!a) throw new Error(`the test helper has no typed array for ${type}`);
  return a;
}

export function tensor(name: string, type: TensorType, dims: readonly number[], values: ArrayLike<number> | readonly bigint[]): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  assert.equal(values.length, n, `${name}: ${values.length} values for shape [${dims}]`);
  const array = type === 'int64' ? BigInt64Array.from(Array.from(values as ArrayLike<number | bigint>, (v) => BigInt(v))) : (arrayType(type) as Float32ArrayConstructor).from(values as ArrayLike<number>);
  return { name, type, dims: [...dims], data: new Uint8Array(array.buffer, 0, array.byteLength) };
}

export function values(t: Tensor): number[] {
  const copy = Uint8Array.from(t.data).buffer;
  const a = new (arrayType(t.type))(copy);
  return Array.from(a as ArrayLike<number | bigint>, (v) => Number(v));
}

/** Seeded uniform values in [-scale, scale). */
export function randomFloats(name: string, dims: readonly number[], seed: number, scale = 2): Tensor {
  const next = seededRandom(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return tensor(name, 'float32', dims, Array.from({ length: n }, () => (next() * 2 - 1) * scale));
}

/** Seeded integers in [lo, hi]. */
export function randomInts(name: string, type: TensorType, dims: readonly number[], seed: number, lo: number, hi: number): Tensor {
  const next = seededRandom(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return tensor(name, type, dims, Array.from({ length: n }, () => lo + Math.floor(next() * (hi - lo + 1))));
}

// ---- running ----

/** Runs the model in the sandbox engine (onnxruntime-web, a fresh instance in its own thread). */
export async function runEngine(model: Uint8Array, inputs: readonly Tensor[]): Promise<Tensor[]> {
  return runOnnxInSandbox(model, inputs);
}

/** onnxruntime-node in this process (the code the worker runs in its child process). */
export async function runNative(model: Uint8Array, inputs: readonly Tensor[]): Promise<Tensor[]> {
  const reply = await answerNativeRequest({ op: 'run', model, inputs });
  if (!reply.ok) throw new Error(`onnxruntime-node (${reply.phase}): ${reply.message}`);
  if (reply.op !== 'run') throw new Error(`onnxruntime answered ${reply.op}`);
  return reply.outputs.map((t) => ({ ...t, type: t.type as TensorType }));
}

/** Same names, types and shapes; float values within atol + rtol·|native|, integers exact. */
export function assertMatches(got: readonly Tensor[], want: readonly Tensor[], atol = 1e-5, rtol = 1e-5, label = ''): void {
  assert.deepEqual(
    got.map((t) => ({ name: t.name, type: t.type, dims: t.dims })),
    want.map((t) => ({ name: t.name, type: t.type, dims: t.dims })),
    `${label}: outputs differ in name, type or shape`,
  );
  for (let k = 0; k < got.length; k++) {
    const a = values(got[k]!);
    const b = values(want[k]!);
    const float = got[k]!.type === 'float32' || got[k]!.type === 'float64';
    for (let i = 0; i < a.length; i++) {
      if (!float) {
        assert.equal(a[i], b[i], `${label} ${got[k]!.name}[${i}]: engine ${a[i]} vs onnxruntime ${b[i]}`);
        continue;
      }
      if (Number.isNaN(b[i]!) && Number.isNaN(a[i]!)) continue;
      const d = Math.abs(a[i]! - b[i]!);
      assert.ok(d <= atol + rtol * Math.abs(b[i]!), `${label} ${got[k]!.name}[${i}]: engine ${a[i]} vs onnxruntime ${b[i]} (|diff| ${d})`);
    }
  }
}

/** Runs both and compares. */
export async function checkAgainstNative(model: Uint8Array, inputs: readonly Tensor[], label: string, atol = 1e-5, rtol = 1e-5): Promise<Tensor[]> {
  const want = await runNative(model, inputs);
  const got = await runEngine(model, inputs);
  assertMatches(got, want, atol, rtol, label);
  return got;
}

/** The sandbox engine must refuse the model with a named SandboxEngineError matching `pattern`. */
export async function expectEngineError(model: Uint8Array, inputs: readonly Tensor[], pattern: RegExp): Promise<SandboxEngineError> {
  let caught: unknown;
  try {
    await runEngine(model, inputs);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof SandboxEngineError, `the engine should have refused the model (${pattern}), got ${String(caught)}`);
  assert.match(caught.message, pattern);
  return caught;
}
