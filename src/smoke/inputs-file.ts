/**
 * Smoke inputs given with a release, by path (the bytes never enter workflow history):
 *
 * - `.json`: `{ "<input>": { "type": "float32", "dims": [2, 4], "data": [...] } }` (type
 *   defaults to the model's; 64-bit integers may be decimal strings; bools true/false or 0/1);
 * - `.npy`: one numpy array (for a model with one input, or named after the input);
 * - `.npz`: numpy's archive of arrays named after the inputs (np.savez(path, x=..., sr=...));
 * - `.pb`: one serialized onnx.TensorProto (the ONNX test-data format);
 * - a folder of `.npy` / `.pb` files: by the file's (or TensorProto's) name, and ONNX test data
 *   sets' `input_0.pb`, `input_1.pb`, ... by position.
 *
 * Every tensor is checked against the model: each input given once, the element type the model
 * declares, the rank and every fixed dimension; errors name the input, what the model expects
 * and what the file gives.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { TensorSignature } from '../release/types.js';
import type { DeclaredDim, DeclaredInput } from '../onnx/declared-shapes.js';
import { decodeTensorProto } from '../onnx/tensor-proto.js';
import { ELEMENT_BYTES, elementCount, ONNX_DATA_TYPE, type Tensor, type TensorType } from '../tensor/tensor.js';
import { SmokeInputError } from '../errors/index.js';
import { parseNpy } from './npy-format.js';
import { showDims } from './input-shapes.js';
import { tensorTypeOf, writeElement } from './element-values.js';
import { listZip, readZipEntry } from './zip-archive.js';

/** A tensor as a file holds it: its name if the file says one, else where it sits. */
export interface Given {
  readonly name?: string;
  readonly position?: number;
  readonly type: TensorType;
  readonly dims: readonly number[];
  readonly data: Uint8Array;
  /** Where it came from, for errors: "x.npz[sr]". */
  readonly source: string;
}

export async function readInputsFile(path: string, signature: readonly TensorSignature[], declared?: readonly DeclaredInput[]): Promise<Tensor[]> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    throw new SmokeInputError(`cannot read smoke inputs ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message}`);
  }
  const given = isDir ? await readFolder(path, signature) : await readOne(path, signature);
  return matchToSignature(path, given, signature, declared);
}

async function readOne(path: string, signature: readonly TensorSignature[]): Promise<Given[]> {
  const ext = extname(path).toLowerCase();
  const bytes = await readFile(path).catch((err: Error) => {
    throw new SmokeInputError(`cannot read smoke inputs ${path}: ${err.message}`);
  });
  const soleInput = signature.length === 1 ? signature[0]!.name : undefined;
  switch (ext) {
    case '.json':
      return readJson(path, bytes, signature);
    case '.npy':
      return [npy(path, bytes, nameFromFile(path, signature) ?? soleInput)];
    case '.npz':
      return readNpz(path, bytes);
    case '.pb':
      return [tensorProto(path, bytes, nameFromFile(path, signature) ?? soleInput)];
    default:
      throw new SmokeInputError(`smoke inputs ${path}: unknown file type ${ext || '(none)'}; give .json, .npy, .npz, .pb or a folder of .npy/.pb files`);
  }
}

async function readFolder(dir: string, signature: readonly TensorSignature[]): Promise<Given[]> {
  const files = (await readdir(dir)).filter((f) => /\.(npy|pb)$/i.test(f)).sort(byNumberThenName);
  if (!files.length) throw new SmokeInputError(`smoke inputs folder ${dir} holds no .npy or .pb files`);
  const out: Given[] = [];
  for (const file of files) {
    const path = join(dir, file);
    const bytes = await readFile(path);
    const position = /^input_(\d+)\.pb$/i.exec(file)?.[1];
    if (file.toLowerCase().endsWith('.npy')) out.push(npy(path, bytes, nameFromFile(path, signature) ?? stem(file)));
    else out.push({ ...tensorProto(path, bytes, nameFromFile(path, signature)), ...(position !== undefined ? { position: Number(position) } : {}) });
  }
  return out;
}

function npy(path: string, bytes: Uint8Array, name: string | undefined): Given {
  try {
    const a = parseNpy(bytes);
    return { ...(name !== undefined ? { name } : {}), type: a.type, dims: a.dims, data: a.data, source: basename(path) };
  } catch (err) {
    throw new SmokeInputError(`smoke inputs ${path}: ${(err as Error).message}`);
  }
}

export function tensorProto(path: string, bytes: Uint8Array, fallbackName: string | undefined, what = 'smoke inputs'): Given {
  let t: Tensor;
  try {
    t = decodeTensorProto(bytes);
  } catch (err) {
    throw new SmokeInputError(`${what} ${path}: not a TensorProto this reader can carry: ${(err as Error).message}`);
  }
  const name = t.name || fallbackName;
  return { ...(name ? { name } : {}), type: t.type, dims: t.dims, data: t.data, source: basename(path) };
}

function readNpz(path: string, bytes: Uint8Array): Given[] {
  try {
    return listZip(bytes)
      .filter((e) => !e.name.endsWith('/'))
      .map((entry) => {
        const name = entry.name.replace(/\.npy$/, '');
        const a = parseNpy(readZipEntry(bytes, entry));
        return { name, type: a.type, dims: a.dims, data: a.data, source: `${basename(path)}[${name}]` };
      });
  } catch (err) {
    if (err instanceof SmokeInputError) throw err;
    throw new SmokeInputError(`smoke inputs ${path}: ${(err as Error).message}`);
  }
}

interface JsonTensor {
  readonly type?: string;
  readonly dims?: unknown;
  readonly data?: unknown;
}

function readJson(path: string, bytes: Uint8Array, signature: readonly TensorSignature[]): Given[] {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new SmokeInputError(`cannot read smoke inputs ${path}: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new SmokeInputError(`smoke inputs ${path}: expected an object of input name to { type, dims, data }`);
  return Object.entries(doc as Record<string, JsonTensor>).map(([name, t]) => {
    const where = `${basename(path)}[${name}]`;
    const input = signature.find((s) => s.name === name);
    const type = (t?.type ?? (input ? tensorTypeOf(input) : 'float32')) as TensorType;
    if (!(type in ONNX_DATA_TYPE)) throw new SmokeInputError(`smoke inputs ${where}: unknown type ${JSON.stringify(t?.type)} (known: ${Object.keys(ONNX_DATA_TYPE).join(', ')})`);
    const dims = t?.dims;
    if (!Array.isArray(dims) || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new SmokeInputError(`smoke inputs ${where}: dims must be a list of whole numbers >= 0`);
    const n = elementCount(dims as number[]);
    const data = t.data;
    if (!Array.isArray(data) || data.length !== n) {
      throw new SmokeInputError(`smoke inputs ${where}: needs ${n} values for dims [${dims.join(', ')}], has ${Array.isArray(data) ? data.length : 'no data list'}`);
    }
    const out = Buffer.alloc(n * ELEMENT_BYTES[type]);
    data.forEach((raw, k) => {
      const value = typeof raw === 'string' && /^-?\d+$/.test(raw) ? BigInt(raw) : (raw as number | boolean);
      const problem = typeof value === 'string' || value === null ? `${JSON.stringify(raw)} is not a number` : writeElement(out, type, k, value);
      if (problem) throw new SmokeInputError(`smoke inputs ${where}: value ${k}: ${problem}`);
    });
    return { name, type, dims: dims as number[], data: new Uint8Array(out.buffer, out.byteOffset, out.byteLength), source: where };
  });
}

/**
 * The given tensors in the model's input order, each checked against the model: given once, the
 * declared element type, rank and fixed dimensions. `what` starts every message ("smoke inputs").
 */
export function matchToSignature(path: string, given: readonly Given[], signature: readonly TensorSignature[], declared: readonly DeclaredInput[] | undefined, what = 'smoke inputs'): Tensor[] {
  const byName = new Map<string, Given>();
  const unnamed: Given[] = [];
  for (const g of given) {
    const name = g.name ?? (g.position !== undefined ? signature[g.position]?.name : undefined);
    if (name === undefined) {
      unnamed.push(g);
      continue;
    }
    if (byName.has(name)) throw new SmokeInputError(`${what} ${path}: input ${name} is given twice (${byName.get(name)!.source} and ${g.source})`);
    byName.set(name, g);
  }
  const inputs = signature.map((s) => s.name);
  const extra = [...byName.keys()].filter((n) => !inputs.includes(n));
  if (extra.length || unnamed.length) {
    const what = [...extra.map((n) => `${byName.get(n)!.source} (named ${n})`), ...unnamed.map((u) => `${u.source} (no name)`)];
    throw new SmokeInputError(`${what} ${path}: ${what.join(', ')} match no input of the model (inputs: ${inputs.join(', ')})`);
  }
  return signature.map((input) => {
    const g = byName.get(input.name);
    if (!g) throw new SmokeInputError(`${what} ${path} give no tensor for model input ${input.name} (given: ${[...byName.keys()].join(', ') || 'none'})`);
    const expected = tensorTypeOf(input);
    const dims = declared?.find((d) => d.name === input.name)?.dims ?? input.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d ? d : null));
    const shapeText = dims.length || input.shape.length ? `[${showDims(dims as DeclaredDim[])}]` : '[] (a scalar)';
    if (g.type !== expected) throw new SmokeInputError(`${what} ${g.source}: input ${input.name} must be ${expected} ${shapeText}, the file gives ${g.type} [${g.dims.join(', ')}]`);
    const rankKnown = declared ? declared.find((d) => d.name === input.name)?.dims !== undefined : true;
    const wrongRank = rankKnown && dims.length !== g.dims.length;
    const wrongDim = !wrongRank && rankKnown && dims.some((d, axis) => typeof d === 'number' && d !== g.dims[axis]);
    if (wrongRank || wrongDim) {
      throw new SmokeInputError(`${what} ${g.source}: input ${input.name} must have shape ${shapeText}, the file gives [${g.dims.join(', ')}]`);
    }
    return { name: input.name, type: g.type, dims: [...g.dims], data: g.data };
  });
}

function nameFromFile(path: string, signature: readonly TensorSignature[]): string | undefined {
  const name = stem(basename(path));
  return signature.some((s) => s.name === name) ? name : undefined;
}

function stem(file: string): string {
  return file.replace(/\.(npy|pb)$/i, '');
}

function byNumberThenName(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
