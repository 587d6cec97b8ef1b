import ort from 'onnxruntime-node';
import type { TensorSignature } from '../../release/types.js';
import { InvalidRequestError } from '../../errors/index.js';
import { halfToNumber, numberToHalf } from '../../tensor/half-float.js';

/** A tensor in the JSON API: row-major values and their dimensions. */
export interface JsonTensor {
  readonly dims: readonly number[];
  readonly data: ReadonlyArray<number | boolean | string | null>;
}

type Feeds = Record<string, ort.Tensor>;

/** Element types the JSON API carries, and how each is checked and stored. */
const JSON_TYPES: Record<string, { what: string; make: (values: unknown[], where: string) => ort.Tensor['data'] }> = {
  float32: { what: 'a number', make: (v, w) => Float32Array.from(numbers(v, w)) },
  float64: { what: 'a number', make: (v, w) => Float64Array.from(numbers(v, w)) },
  float16: { what: 'a number', make: (v, w) => Uint16Array.from(numbers(v, w), numberToHalf) },
  int64: { what: 'an integer', make: (v, w) => BigInt64Array.from(integers(v, w, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), (n) => BigInt(n)) },
  uint64: { what: 'an integer', make: (v, w) => BigUint64Array.from(integers(v, w, 0, Number.MAX_SAFE_INTEGER), (n) => BigInt(n)) },
  int32: { what: 'an integer', make: (v, w) => Int32Array.from(integers(v, w, -0x80000000, 0x7fffffff)) },
  uint32: { what: 'an integer', make: (v, w) => Uint32Array.from(integers(v, w, 0, 0xffffffff)) },
  int16: { what: 'an integer', make: (v, w) => Int16Array.from(integers(v, w, -0x8000, 0x7fff)) },
  uint16: { what: 'an integer', make: (v, w) => Uint16Array.from(integers(v, w, 0, 0xffff)) },
  int8: { what: 'an integer', make: (v, w) => Int8Array.from(integers(v, w, -0x80, 0x7f)) },
  uint8: { what: 'an integer', make: (v, w) => Uint8Array.from(integers(v, w, 0, 0xff)) },
  bool: { what: 'a boolean (or 0/1)', make: (v, w) => Uint8Array.from(booleans(v, w)) },
  string: { what: 'a string', make: (v, w) => strings(v, w) },
};

function numbers(values: unknown[], where: string): number[] {
  values.forEach((x, i) => {
    if (typeof x !== 'number') throw new InvalidRequestError(`${where}[${i}]: expected a number, got ${describe(x)}`);
  });
  return values as number[];
}

function integers(values: unknown[], where: string, min: number, max: number): number[] {
  values.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
      throw new InvalidRequestError(`${where}[${i}]: expected an integer in [${min}, ${max}], got ${describe(x)}`);
    }
  });
  return values as number[];
}

function booleans(values: unknown[], where: string): number[] {
  return values.map((x, i) => {
    if (x === true || x === 1) return 1;
    if (x === false || x === 0) return 0;
    throw new InvalidRequestError(`${where}[${i}]: expected a boolean (or 0/1), got ${describe(x)}`);
  });
}

function strings(values: unknown[], where: string): string[] {
  values.forEach((x, i) => {
    if (typeof x !== 'string') throw new InvalidRequestError(`${where}[${i}]: expected a string, got ${describe(x)}`);
  });
  return values as string[];
}

/**
 * Typed data of onnxruntime element type `type` from JSON values, each checked (numbers in the
 * type's range, integers exact, booleans as true/false or 0/1); errors name `where[i]`.
 */
export function tensorDataFromJson(type: string, values: unknown[], where: string): ort.Tensor['data'] | undefined {
  return JSON_TYPES[type]?.make(values, where);
}

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x);
  if (typeof x === 'object') return 'an object';
  return String(x);
}

export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function shapeText(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Checks an inference body `{ "inputs": { "<name>": { "dims": [...], "data": [...] } } }` against
 * the model's input signature and builds the onnxruntime feeds. Every input must be given, and
 * nothing else; fixed dimensions must match, symbolic ones are free; `data` must hold exactly
 * prod(dims) values of the input's type. Errors name the member and what is wrong with it.
 */
export function parseInferenceBody(body: unknown, inputs: readonly TensorSignature[]): Feeds {
  if (!isRecord(body)) throw new InvalidRequestError(`the body must be a JSON object { "inputs": { ... } }, got ${describe(body)}`);
  const extra = Object.keys(body).filter((k) => k !== 'inputs');
  if (extra.length) throw new InvalidRequestError(`unknown member(s) ${extra.map((k) => JSON.stringify(k)).join(', ')} in the body (only "inputs" is accepted)`);
  if (!isRecord(body.inputs)) throw new InvalidRequestError(`"inputs" must be an object of input name → { dims, data }, got ${describe(body.inputs)}`);
  const given = body.inputs;
  const names = inputs.map((s) => s.name);
  const unknown = Object.keys(given).filter((k) => !names.includes(k));
  if (unknown.length) throw new InvalidRequestError(`inputs.${unknown[0]}: the model has no input of that name (its inputs: ${names.join(', ')})`);
  const feeds: Feeds = {};
  for (const signature of inputs) {
    const where = `inputs.${signature.name}`;
    if (!(signature.name in given)) throw new InvalidRequestError(`${where} is missing (the model's inputs: ${names.join(', ')})`);
    feeds[signature.name] = parseTensor(given[signature.name], signature, where);
  }
  return feeds;
}

function parseTensor(value: unknown, signature: TensorSignature, where: string): ort.Tensor {
  if (!isRecord(value)) throw new InvalidRequestError(`${where} must be an object { "dims": [...], "data": [...] }, got ${describe(value)}`);
  const extra = Object.keys(value).filter((k) => k !== 'dims' && k !== 'data' && k !== 'type');
  if (extra.length) throw new InvalidRequestError(`${where}: unknown member(s) ${extra.map((k) => JSON.stringify(k)).join(', ')} (accepted: dims, data, type)`);
  const codec = JSON_TYPES[signature.type];
  if (!codec) throw new InvalidRequestError(`${where}: the model wants ${signature.type}, which the JSON API does not carry`);
  if (value.type !== undefined && value.type !== signature.type) {
    throw new InvalidRequestError(`${where}.type is ${describe(value.type)}, but the model's input is ${signature.type}`);
  }
  const dims = value.dims;
  if (!Array.isArray(dims)) throw new InvalidRequestError(`${where}.dims must be an array of sizes, got ${describe(dims)}`);
  dims.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw new InvalidRequestError(`${where}.dims[${i}] must be a size ≥ 0, got ${describe(d)}`);
  });
  checkDims(dims as number[], signature, `${where}.dims`);
  const data = value.data;
  if (!Array.isArray(data)) throw new InvalidRequestError(`${where}.data must be an array of values, got ${describe(data)}`);
  const count = (dims as number[]).reduce((n, d) => n * d, 1);
  if (data.length !== count) {
    throw new InvalidRequestError(`${where}.data has ${data.length} value(s), but dims [${dims.join(', ')}] need ${count}`);
  }
  return new ort.Tensor(signature.type as ort.Tensor.Type, codec.make(data, `${where}.data`) as never, dims as number[]);
}

/** Fixed dimensions of the signature must match; symbolic ones are free; an unknown rank takes any. */
export function checkDims(dims: readonly number[], signature: TensorSignature, where: string): void {
  const shape = signature.shape;
  if (shape.length === 0) return;
  if (dims.length !== shape.length) {
    throw new InvalidRequestError(`${where} has ${dims.length} dimension(s) [${dims.join(', ')}], the model expects ${shape.length}: ${shapeText(shape)}`);
  }
  shape.forEach((want, i) => {
    if (typeof want === 'number' && want >= 0 && dims[i] !== want) {
      throw new InvalidRequestError(`${where}[${i}] is ${dims[i]}, the model expects ${want} (shape ${shapeText(shape)})`);
    }
  });
}

/**
 * onnxruntime outputs as JSON tensors. 64-bit integers become JSON numbers (exact up to 2^53),
 * booleans become true/false, and non-finite floats become null (JSON has no NaN/Infinity).
 */
export function outputsToJson(results: ort.InferenceSession.OnnxValueMapType, names: readonly string[]): Record<string, JsonTensor> {
  const out: Record<string, JsonTensor> = {};
  for (const name of names) {
    const value = results[name] as ort.Tensor | undefined;
    if (!value) continue;
    out[name] = { dims: [...value.dims], data: tensorToJsonValues(value) };
  }
  return out;
}

/**
 * A tensor's values for JSON, row-major. 64-bit integers become numbers (exact up to 2^53),
 * booleans true/false, float16 their value, and non-finite floats null (JSON has no NaN/Infinity).
 */
export function tensorToJsonValues(value: ort.Tensor): Array<number | boolean | string | null> {
  const raw = value.data as ArrayLike<number | bigint | string>;
  const data: Array<number | boolean | string | null> = new Array(raw.length);
  if (value.type === 'bool') for (let i = 0; i < raw.length; i++) data[i] = raw[i] !== 0;
  else if (value.type === 'string') for (let i = 0; i < raw.length; i++) data[i] = raw[i] as string;
  else {
    const half = value.type === 'float16' && raw instanceof Uint16Array;
    for (let i = 0; i < raw.length; i++) {
      const n = half ? halfToNumber(raw[i] as number) : Number(raw[i]);
      data[i] = Number.isFinite(n) ? n : null;
    }
  }
  return data;
}
