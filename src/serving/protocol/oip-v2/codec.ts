import ort from 'onnxruntime-node';
import type { TensorSignature } from '../../../release/types.js';
import { InvalidRequestError } from '../../../errors/index.js';
import type { InferenceAnswer } from '../../dataplane/inference.js';
import { isOipDatatype, OIP_DATATYPES, oipDatatypeOf, type OipDatatype } from './datatypes.js';
import { checkDims, describe, isRecord, tensorDataFromJson, tensorToJsonValues } from '../json-tensors.js';

/** The binary tensor data extension's header: the JSON part's byte length, the raw tensors follow it. */
export const INFERENCE_HEADER_LENGTH = 'inference-header-content-length';

/** One input of an infer request, its data either JSON values or raw bytes (binary extension). */
export interface OipInput {
  readonly name: string;
  readonly datatype: OipDatatype;
  readonly shape: readonly number[];
  readonly data: { readonly json: unknown[] } | { readonly binary: Buffer };
}

export interface OipRequestedOutput {
  readonly name: string;
  /** Per output `parameters.binary_data`; undefined follows the request's `binary_data_output`. */
  readonly binary: boolean | undefined;
}

/** An infer request checked for form (not yet against a model). */
export interface OipInferRequest {
  readonly id: string | undefined;
  readonly inputs: readonly OipInput[];
  /** Outputs asked for; undefined means all of them. */
  readonly outputs: readonly OipRequestedOutput[] | undefined;
  readonly binaryOutputs: boolean;
}

/**
 * Reads an infer request body: JSON, or with `Inference-Header-Content-Length` a JSON header
 * followed by the inputs' raw bytes in order (`parameters.binary_data_size` each). Checks the
 * form only; `oipFeeds` checks it against the model. Errors say which member is wrong.
 */
export function parseOipRequest(body: Buffer, headerLength: string | string[] | undefined): OipInferRequest {
  let json: Buffer = body;
  let binary: Buffer = Buffer.alloc(0);
  if (headerLength !== undefined) {
    if (Array.isArray(headerLength) || !/^\d{1,12}$/.test(headerLength)) throw new InvalidRequestError(`${INFERENCE_HEADER_LENGTH} must be one byte count`);
    const n = Number(headerLength);
    if (n > body.length) throw new InvalidRequestError(`${INFERENCE_HEADER_LENGTH} is ${n}, but the body has only ${body.length} bytes`);
    json = body.subarray(0, n);
    binary = body.subarray(n);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(json.toString('utf8'));
  } catch (err) {
    throw new InvalidRequestError(`the request ${headerLength === undefined ? 'body' : 'header'} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(doc)) throw new InvalidRequestError(`the request must be a JSON object { "inputs": [...] }, got ${describe(doc)}`);
  if (doc.id !== undefined && typeof doc.id !== 'string') throw new InvalidRequestError(`"id" must be a string, got ${describe(doc.id)}`);
  const parameters = optionalRecord(doc.parameters, 'parameters');
  const binaryOutputs = optionalBoolean(parameters?.binary_data_output, 'parameters.binary_data_output') ?? false;
  if (!Array.isArray(doc.inputs) || doc.inputs.length === 0) throw new InvalidRequestError(`"inputs" must be a non-empty array of tensors, got ${describe(doc.inputs)}`);

  // Plain loops, and each input's `where` written only for an error: this runs on every request.
  let offset = 0;
  const inputs: OipInput[] = [];
  // A few inputs are compared by name; many (a hostile request) go through a set, never n².
  const seen = doc.inputs.length > 8 ? new Set<string>() : undefined;
  for (let i = 0; i < doc.inputs.length; i++) {
    const raw: unknown = doc.inputs[i];
    if (!isRecord(raw)) throw new InvalidRequestError(`${inputAt(i)} must be an object { name, datatype, shape, data }, got ${describe(raw)}`);
    if (typeof raw.name !== 'string' || raw.name === '') throw new InvalidRequestError(`${inputAt(i)}.name must be a non-empty string`);
    if (seen ? seen.has(raw.name) : givenBefore(inputs, raw.name)) throw new InvalidRequestError(`${inputAt(i)}: input ${JSON.stringify(raw.name)} is given twice`);
    seen?.add(raw.name);
    if (!isOipDatatype(raw.datatype)) throw new InvalidRequestError(`${inputAt(i)}.datatype ${describe(raw.datatype)} is not one of ${Object.keys(OIP_DATATYPES).join(', ')}`);
    if (!Array.isArray(raw.shape)) throw new InvalidRequestError(`${inputAt(i)}.shape must be an array of sizes, got ${describe(raw.shape)}`);
    const shape = raw.shape as unknown[];
    for (let j = 0; j < shape.length; j++) {
      const d = shape[j];
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw new InvalidRequestError(`${inputAt(i)}.shape[${j}] must be a size ≥ 0, got ${describe(d)}`);
    }
    const size = raw.parameters === undefined ? undefined : optionalRecord(raw.parameters, `${inputAt(i)}.parameters`)?.binary_data_size;
    if (size !== undefined) {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new InvalidRequestError(`${inputAt(i)}.parameters.binary_data_size must be a byte count, got ${describe(size)}`);
      if (raw.data !== undefined) throw new InvalidRequestError(`${inputAt(i)} has both "data" and parameters.binary_data_size`);
      if (offset + size > binary.length) {
        throw new InvalidRequestError(`${inputAt(i)} takes ${size} bytes of binary data at offset ${offset}, but only ${binary.length - offset} follow`);
      }
      const bytes = binary.subarray(offset, offset + size);
      offset += size;
      inputs.push({ name: raw.name, datatype: raw.datatype, shape: shape as number[], data: { binary: bytes } });
      continue;
    }
    if (!Array.isArray(raw.data)) throw new InvalidRequestError(`${inputAt(i)}.data must be an array of values (flat or nested), got ${describe(raw.data)}`);
    inputs.push({ name: raw.name, datatype: raw.datatype, shape: shape as number[], data: { json: flatten(raw.data) } });
  }
  if (offset !== binary.length) throw new InvalidRequestError(`${binary.length} bytes of binary data follow the header, but the inputs take ${offset}`);

  let outputs: OipRequestedOutput[] | undefined;
  if (doc.outputs !== undefined) {
    if (!Array.isArray(doc.outputs)) throw new InvalidRequestError(`"outputs" must be an array, got ${describe(doc.outputs)}`);
    outputs = doc.outputs.map((raw, i) => {
      const where = `outputs[${i}]`;
      if (!isRecord(raw) || typeof raw.name !== 'string') throw new InvalidRequestError(`${where} must be an object { name, parameters? }`);
      const p = optionalRecord(raw.parameters, `${where}.parameters`);
      if (p?.classification !== undefined) throw new InvalidRequestError(`${where}.parameters.classification: the classification extension is not supported`);
      return { name: raw.name, binary: optionalBoolean(p?.binary_data, `${where}.parameters.binary_data`) };
    });
  }
  return { id: doc.id as string | undefined, inputs, outputs, binaryOutputs };
}

/**
 * The onnxruntime feeds for a model's input signature: every input given once and nothing
 * else, the datatype the model takes, fixed dimensions matching, and exactly prod(shape) values
 * (JSON) or bytes for them (binary). Also checks that requested outputs exist.
 */
export function oipFeeds(request: OipInferRequest, inputs: readonly TensorSignature[], outputNames: readonly string[]): Record<string, ort.Tensor> {
  const names = inputs.map((s) => s.name);
  const unknown = request.inputs.find((i) => !names.includes(i.name));
  if (unknown) throw new InvalidRequestError(`input ${JSON.stringify(unknown.name)}: the model has no input of that name (its inputs: ${names.join(', ')})`);
  for (const output of request.outputs ?? []) {
    if (!outputNames.includes(output.name)) throw new InvalidRequestError(`output ${JSON.stringify(output.name)}: the model has no output of that name (its outputs: ${outputNames.join(', ')})`);
  }
  const feeds: Record<string, ort.Tensor> = {};
  for (const signature of inputs) {
    const input = request.inputs.find((i) => i.name === signature.name);
    if (!input) throw new InvalidRequestError(`input ${JSON.stringify(signature.name)} is missing (the model's inputs: ${names.join(', ')})`);
    const where = `input ${signature.name}`;
    const wanted = oipDatatypeOf(signature.type);
    if (!wanted) throw new InvalidRequestError(`${where}: the model takes ${signature.type}, which the Open Inference Protocol has no datatype for`);
    if (input.datatype !== wanted) throw new InvalidRequestError(`${where}: datatype is ${input.datatype}, the model takes ${wanted}`);
    checkDims(input.shape, signature, `${where} shape`);
    const count = input.shape.reduce((n, d) => n * d, 1);
    const data = 'json' in input.data ? fromJson(input.data.json, signature.type, count, where) : fromBinary(input.data.binary, input.datatype, count, where);
    feeds[signature.name] = new ort.Tensor(signature.type as ort.Tensor.Type, data as never, [...input.shape]);
  }
  return feeds;
}

function fromJson(values: unknown[], ortType: string, count: number, where: string): ort.Tensor['data'] {
  if (values.length !== count) throw new InvalidRequestError(`${where}: data has ${values.length} value(s), but the shape needs ${count}`);
  if (ortType === 'string') {
    const at = values.findIndex((v) => typeof v === 'string' && v.includes('\0'));
    if (at >= 0) throw new InvalidRequestError(`${where} data[${at}] contains a NUL character, which onnxruntime string tensors cannot hold`);
  }
  return tensorDataFromJson(ortType, values, `${where} data`)!;
}

const TYPED: Partial<Record<OipDatatype, new (n: number) => ArrayBufferView>> = {
  BOOL: Uint8Array, UINT8: Uint8Array, UINT16: Uint16Array, UINT32: Uint32Array, UINT64: BigUint64Array,
  INT8: Int8Array, INT16: Int16Array, INT32: Int32Array, INT64: BigInt64Array,
  FP16: Uint16Array, FP32: Float32Array, FP64: Float64Array,
};

/** Raw little-endian row-major elements (copied, so alignment never matters); BYTES as 4-byte length + bytes each. */
function fromBinary(bytes: Buffer, datatype: OipDatatype, count: number, where: string): ort.Tensor['data'] {
  if (datatype === 'BYTES') {
    const out: string[] = [];
    let at = 0;
    while (at < bytes.length) {
      if (at + 4 > bytes.length) throw new InvalidRequestError(`${where}: BYTES element ${out.length} is cut short (no 4-byte length)`);
      const n = bytes.readUInt32LE(at);
      if (at + 4 + n > bytes.length) throw new InvalidRequestError(`${where}: BYTES element ${out.length} says ${n} bytes, only ${bytes.length - at - 4} follow`);
      out.push(bytesElement(bytes.subarray(at + 4, at + 4 + n), `${where}: BYTES element ${out.length}`));
      at += 4 + n;
    }
    if (out.length !== count) throw new InvalidRequestError(`${where}: the binary data holds ${out.length} BYTES element(s), but the shape needs ${count}`);
    return out;
  }
  const size = OIP_DATATYPES[datatype].size!;
  if (bytes.length !== count * size) throw new InvalidRequestError(`${where}: binary_data_size is ${bytes.length}, but ${count} ${datatype} value(s) take ${count * size} bytes`);
  const array = new TYPED[datatype]!(count);
  new Uint8Array(array.buffer).set(bytes);
  if (datatype === 'BOOL') {
    const flags = array as Uint8Array;
    for (let i = 0; i < flags.length; i++) if (flags[i]! > 1) throw new InvalidRequestError(`${where}: BOOL element ${i} is byte ${flags[i]}, not 0 or 1`);
  }
  return array as ort.Tensor['data'];
}

interface OipOutput {
  readonly name: string;
  readonly datatype: OipDatatype;
  readonly shape: number[];
  readonly data?: Array<number | boolean | string | null>;
  readonly parameters?: { readonly binary_data_size: number };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A BYTES element as onnxruntime's string tensors hold it: UTF-8 text without NUL (onnxruntime
 * ends a string at NUL). Anything else is refused rather than changed on the way in.
 */
function bytesElement(bytes: Uint8Array, where: string): string {
  if (bytes.includes(0)) throw new InvalidRequestError(`${where} contains a NUL byte, which onnxruntime string tensors cannot hold`);
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new InvalidRequestError(`${where} is not valid UTF-8; string tensors hold text`);
  }
}

export interface EncodedResponse {
  readonly headers: Record<string, string>;
  /** A JSON-only answer stays a string: node then sends headers and body in one write. */
  readonly body: Buffer | string;
}

/**
 * The infer response: `{ model_name, model_version, id?, parameters, outputs }`, outputs in the
 * order asked (else the model's), each as JSON `data` or, when asked for binary, as raw bytes
 * after the JSON header with `parameters.binary_data_size`.
 */
export function encodeOipResponse(request: OipInferRequest, answer: InferenceAnswer): EncodedResponse {
  // Plain loops and object literals of one shape each (no spreads, no flatMap): this runs on
  // every request, and JSON.stringify takes its fast path on such objects.
  const chunks: Buffer[] = [];
  const outputs: OipOutput[] = [];
  const wanted = request.outputs;
  const count = wanted ? wanted.length : answer.outputNames.length;
  for (let i = 0; i < count; i++) {
    const name = wanted ? wanted[i]!.name : answer.outputNames[i]!;
    const binary = wanted ? wanted[i]!.binary : undefined;
    const tensor = answer.results[name] as ort.Tensor | undefined;
    if (!tensor) continue;
    const datatype = oipDatatypeOf(tensor.type) ?? 'BYTES';
    const shape = Array.from(tensor.dims);
    if (!(binary ?? request.binaryOutputs)) {
      outputs.push({ name, datatype, shape, data: tensorToJsonValues(tensor) });
      continue;
    }
    const bytes = tensorBytes(tensor);
    chunks.push(bytes);
    outputs.push({ name, datatype, shape, parameters: { binary_data_size: bytes.length } });
  }
  const parameters = { slot: answer.slot, routed_by: answer.routedBy, digest: answer.ref.digest };
  const json = JSON.stringify(
    request.id !== undefined
      ? { model_name: answer.model, model_version: answer.ref.version, id: request.id, parameters, outputs }
      : { model_name: answer.model, model_version: answer.ref.version, parameters, outputs },
  );
  if (chunks.length === 0) return { headers: JSON_HEADERS, body: json };
  const header = Buffer.from(json, 'utf8');
  return {
    headers: { 'content-type': 'application/octet-stream', [INFERENCE_HEADER_LENGTH]: String(header.length) },
    body: Buffer.concat([header, ...chunks]),
  };
}

const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json' });

function tensorBytes(tensor: ort.Tensor): Buffer {
  if (tensor.type === 'string') {
    const parts = (tensor.data as string[]).flatMap((s) => {
      const text = Buffer.from(s, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(text.length);
      return [length, text];
    });
    return Buffer.concat(parts);
  }
  const view = tensor.data as ArrayBufferView;
  if (tensor.type === 'bool' && !(view instanceof Uint8Array)) return Buffer.from(Array.from(view as unknown as ArrayLike<unknown>, (b) => (b ? 1 : 0)));
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

const inputAt = (i: number) => `inputs[${i}]`;

function givenBefore(inputs: readonly OipInput[], name: string): boolean {
  for (const earlier of inputs) if (earlier.name === name) return true;
  return false;
}

/** Nested `data` flattened row-major (the count is checked against the shape later). */
function flatten(data: unknown[]): unknown[] {
  return data.some(Array.isArray) ? (data.flat(Infinity) as unknown[]) : data;
}

function optionalRecord(value: unknown, where: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw new InvalidRequestError(`${where} must be an object, got ${describe(value)}`);
  return value;
}

function optionalBoolean(value: unknown, where: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new InvalidRequestError(`${where} must be true or false, got ${describe(value)}`);
  return value;
}
