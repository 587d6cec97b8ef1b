/**
 * Reference data given with a release (`--smoke-data PATH`, `smoke.dataPath`): inputs together
 * with the outputs the user's training framework produced for them (PyTorch's output, against
 * which ONNX's is checked). By path; the bytes never enter workflow history, their digests go
 * into the signed Test Result.
 *
 * - A folder in the ONNX `test_data_set` layout: `input_0.pb`, `input_1.pb`, ... and
 *   `output_0.pb`, ... , each one serialized onnx.TensorProto. A tensor is the input (output)
 *   its TensorProto names, or, unnamed, the model's N-th input (output).
 * - An `.npz` (numpy.savez / savez_compressed) whose keys say which side each array is on:
 *   `inputs/<name>` and `outputs/<name>` by name (np.savez(p, **{'inputs/x': x, 'outputs/y': y})),
 *   or `input_<N>` and `output_<N>` by position (np.savez(p, input_0=x, output_0=y)).
 *
 * Every input is required and checked as --smoke-inputs are (element type, rank, fixed sizes).
 * Expected outputs may be a subset of the model's outputs (at least one); each is checked against
 * the output's declared element type and fixed sizes. Any mismatch is a SmokeInputError naming
 * the input or output, what the model declares and what the file gives.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { DeclaredInput } from '../onnx/declared-shapes.js';
import type { TensorSignature } from '../release/types.js';
import type { Tensor } from '../tensor/tensor.js';
import { SmokeInputError } from '../errors/index.js';
import { matchToSignature, tensorProto, type Given } from './inputs-file.js';
import { showDims } from './input-shapes.js';
import { parseNpy } from './npy-format.js';
import { tensorTypeOf } from './element-values.js';
import { listZip, readZipEntry } from './zip-archive.js';

const WHAT = 'smoke data';

export interface SmokeDataFile {
  /** Relative to the data path ('' for the .npz itself). */
  readonly path: string;
  readonly sha256: string;
}

export interface SmokeData {
  /** In the model's input order. */
  readonly inputs: Tensor[];
  /** In the model's output order; the outputs the data gives. */
  readonly expected: Tensor[];
  /** What was read, with digests (for the Test Result and history). */
  readonly files: SmokeDataFile[];
}

interface Sides {
  readonly inputs: Given[];
  readonly outputs: Given[];
  readonly files: SmokeDataFile[];
}

export async function readSmokeData(
  path: string,
  signature: { readonly inputs: readonly TensorSignature[]; readonly outputs: readonly TensorSignature[] },
  declared?: readonly DeclaredInput[],
  options: { readonly inputsOnly?: boolean } = {},
): Promise<SmokeData> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    throw new SmokeInputError(`cannot read ${WHAT} ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message}`);
  }
  let sides: Sides;
  if (isDir) sides = await readTestDataSet(path);
  else if (extname(path).toLowerCase() === '.npz') sides = await readNpz(path);
  else throw new SmokeInputError(`${WHAT} ${path}: give a folder in the ONNX test_data_set layout (input_N.pb, output_N.pb) or an .npz with inputs/<name> and outputs/<name> arrays`);
  if (!sides.outputs.length) {
    throw new SmokeInputError(`${WHAT} ${path} holds no expected outputs (output_N.pb, or outputs/<name> in an .npz); for inputs alone use --smoke-inputs (smoke.inputsPath)`);
  }
  const inputs = matchToSignature(path, sides.inputs, signature.inputs, declared, WHAT);
  const expected = options.inputsOnly ? [] : matchOutputs(path, sides.outputs, signature.outputs);
  return { inputs, expected, files: sides.files };
}

async function readTestDataSet(dir: string): Promise<Sides> {
  const entries = await readdir(dir);
  const pb = entries.filter((f) => /\.pb$/i.test(f)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (!pb.length) {
    const sets = entries.filter((f) => /^test_data_set_\d+$/.test(f)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    throw new SmokeInputError(
      sets.length
        ? `${WHAT} folder ${dir} holds ${sets.join(', ')}: give one data set folder, e.g. ${join(dir, sets[0]!)}`
        : `${WHAT} folder ${dir} holds no input_N.pb / output_N.pb files (the ONNX test_data_set layout)`,
    );
  }
  const out: { inputs: Given[]; outputs: Given[]; files: SmokeDataFile[] } = { inputs: [], outputs: [], files: [] };
  for (const file of pb) {
    const m = /^(input|output)_(\d+)\.pb$/i.exec(file);
    if (!m) throw new SmokeInputError(`${WHAT} folder ${dir}: ${file} is neither input_N.pb nor output_N.pb (the ONNX test_data_set layout)`);
    const bytes = await readFile(join(dir, file));
    out.files.push({ path: file, sha256: sha256(bytes) });
    const given = { ...tensorProto(join(dir, file), bytes, undefined, WHAT), position: Number(m[2]) };
    (m[1]!.toLowerCase() === 'input' ? out.inputs : out.outputs).push(given);
  }
  return out;
}

/** The keys this reader takes, for messages. */
const NPZ_KEYS = 'inputs/<name>, outputs/<name>, input_<N> or output_<N>';

async function readNpz(path: string): Promise<Sides> {
  const bytes = await readFile(path).catch((err: Error) => {
    throw new SmokeInputError(`cannot read ${WHAT} ${path}: ${err.message}`);
  });
  const out: { inputs: Given[]; outputs: Given[]; files: SmokeDataFile[] } = { inputs: [], outputs: [], files: [{ path: '', sha256: sha256(bytes) }] };
  try {
    for (const entry of listZip(bytes)) {
      if (entry.name.endsWith('/')) continue;
      const key = entry.name.replace(/\.npy$/, '');
      const source = `${basename(path)}[${key}]`;
      const named = /^(inputs|outputs)\/(.+)$/.exec(key);
      const positional = /^(input|output)_(\d+)$/.exec(key);
      if (!named && !positional) throw new SmokeInputError(`${WHAT} ${path}: array ${JSON.stringify(key)} is not one of ${NPZ_KEYS}`);
      const a = parseNpy(readZipEntry(bytes, entry));
      const given: Given = { type: a.type, dims: a.dims, data: a.data, source, ...(named ? { name: named[2]! } : { position: Number(positional![2]) }) };
      ((named ? named[1] === 'inputs' : positional![1] === 'input') ? out.inputs : out.outputs).push(given);
    }
  } catch (err) {
    if (err instanceof SmokeInputError) throw err;
    throw new SmokeInputError(`${WHAT} ${path}: ${(err as Error).message}`);
  }
  return out;
}

/** Expected outputs in the model's output order, each an output of the model, given once, of its declared type and fixed sizes. */
function matchOutputs(path: string, given: readonly Given[], signature: readonly TensorSignature[]): Tensor[] {
  const names = signature.map((s) => s.name);
  const byName = new Map<string, Given>();
  for (const g of given) {
    const name = g.name ?? (g.position !== undefined ? signature[g.position]?.name : undefined);
    if (name === undefined || !names.includes(name)) {
      const what = g.name !== undefined ? `named ${g.name}` : `output ${g.position}`;
      throw new SmokeInputError(`${WHAT} ${g.source} (${what}) matches no output of the model (outputs: ${names.join(', ')})`);
    }
    if (byName.has(name)) throw new SmokeInputError(`${WHAT} ${path}: output ${name} is given twice (${byName.get(name)!.source} and ${g.source})`);
    byName.set(name, g);
  }
  const out: Tensor[] = [];
  for (const output of signature) {
    const g = byName.get(output.name);
    if (!g) continue;
    let expected: string;
    try {
      expected = tensorTypeOf(output);
    } catch {
      throw new SmokeInputError(`${WHAT} ${g.source}: output ${output.name} has element type ${output.type}, which expected outputs cannot carry; leave it out of the data`);
    }
    // An empty declared shape is an unknown rank (or a scalar): the comparison checks the shape against the run.
    const shapeText = output.shape.length ? `[${showDims(output.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d ? d : null)))}]` : '(shape not declared)';
    if (g.type !== expected) throw new SmokeInputError(`${WHAT} ${g.source}: output ${output.name} must be ${expected} ${shapeText}, the file gives ${g.type} [${g.dims.join(', ')}]`);
    const wrong = output.shape.length > 0 && (output.shape.length !== g.dims.length || output.shape.some((d, axis) => typeof d === 'number' && d >= 0 && d !== g.dims[axis]));
    if (wrong) throw new SmokeInputError(`${WHAT} ${g.source}: output ${output.name} must have shape ${shapeText}, the file gives [${g.dims.join(', ')}]`);
    out.push({ name: output.name, type: g.type, dims: [...g.dims], data: g.data });
  }
  return out;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
