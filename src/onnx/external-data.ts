/**
 * External data: tensors whose bytes live in another file (TensorProto.data_location = EXTERNAL,
 * external_data = {location, offset, length}), as models over 2 GB ship. onnxruntime opens that
 * file itself: relative to the model file's folder when it loads a path, relative to the
 * process's working directory when it loads bytes. So a model could name a file of whoever
 * loads it (`package.json`, an admin key) and return its bytes as an output.
 *
 * The host therefore reads every external reference from the model's protobuf and resolves it
 * against the bundle's own file list before any engine loads the model; anything that is not a
 * file of the bundle is refused (ExternalDataRefusedError), naming the tensor and the path.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path/posix';
import { join } from 'node:path';
import { CorruptModelError, ExternalDataRefusedError } from '../errors/index.js';
import { fieldInt, fieldString, fields, ProtobufError } from './protobuf-reader.js';
import { canonicalPathProblem } from '../hashing/root-digest.js';
import { bundlePaths } from '../bundle/layout.js';
import type { Manifest } from '../bundle/manifest.js';

/** One tensor of the model that keeps its data in another file, as the model states it. */
export interface ExternalDataRef {
  /** TensorProto.name ('' if unnamed). */
  readonly tensor: string;
  /** Where in the model it sits: `main graph`, `main graph > node loop_0 (Loop).body`, `function f`, … */
  readonly where: string;
  /** What kind of tensor: an initializer, a sparse initializer's values or indices, or a node attribute. */
  readonly kind: 'initializer' | 'sparse_initializer' | 'attribute';
  /** The external_data entries (location, offset, length, checksum, …) as written. */
  readonly location: string | undefined;
  readonly offset: string | undefined;
  readonly length: string | undefined;
}

/** A reference that resolved to a file of the bundle, with the byte range it reads. */
/** One external-data file's bytes, keyed by the location the model names it by. */
export interface ExternalDataFile {
  readonly path: string;
  readonly data: Uint8Array;
}

/**
 * External data already in memory (a verified bundle's, read and hashed once): what an engine is
 * handed instead of a folder to read, so nothing is read from disk after verification.
 */
export interface InMemoryExternalData {
  readonly externalData: readonly ExternalDataFile[];
}

/**
 * The folder `resolveExternalData` checks in-memory external data against: each location, spelled
 * as the model spells it less any `./`, is a file beside the model; nothing else exists.
 */
export function inMemoryFolder(source: InMemoryExternalData): Pick<ModelFolder, 'modelFile' | 'files'> {
  const files = source.externalData.map((f) => ({ path: f.path.split('/').filter((s) => s !== '.').join('/'), size: f.data.byteLength }));
  return { modelFile: '(model bytes)', files };
}

export interface ResolvedExternalData {
  readonly tensor: string;
  readonly where: string;
  /** The location exactly as the model states it (what an engine's externalData option is keyed by). */
  readonly location: string;
  /** The bundle file it names, relative to the model folder ('/'-separated). */
  readonly file: string;
  readonly offset: number;
  /** Bytes read: the stated length, or to the end of the file. */
  readonly length: number;
}

/** The files a model may read: the bundle's model folder and its own list of files. */
export interface ModelFolder {
  /** Absolute path of the folder the model's files sit in (a bundle's model/ folder). */
  readonly dir: string;
  /** The model file, relative to `dir`, '/'-separated. */
  readonly modelFile: string;
  /** Every file of the bundle's model folder, relative to `dir`, with its size: the manifest's list, or export's listing. */
  readonly files: readonly { readonly path: string; readonly size: number }[];
}

/** onnxruntime reads `offset` in this "location" as a raw address in its own process. */
const ORT_MEMORY_ADDRESS_TAG = '*/_ORT_MEM_ADDR_/*';

// onnx.proto3 field numbers.
const MODEL_GRAPH = 7;
const MODEL_TRAINING_INFO = 20;
const MODEL_FUNCTIONS = 25;
const TRAINING_INITIALIZATION = 1;
const TRAINING_ALGORITHM = 2;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_SPARSE_INITIALIZER = 15;
const FUNCTION_NAME = 1;
const FUNCTION_NODE = 7;
const NODE_NAME = 3;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const ATTR_NAME = 1;
const ATTR_T = 5;
const ATTR_G = 6;
const ATTR_TENSORS = 10;
const ATTR_GRAPHS = 11;
const ATTR_SPARSE_TENSOR = 22;
const ATTR_SPARSE_TENSORS = 23;
const SPARSE_VALUES = 1;
const SPARSE_INDICES = 2;
const TENSOR_NAME = 8;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const DATA_LOCATION_EXTERNAL = 1;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;
/** Subgraphs nest (a Loop body holding an If); a deeper file is refused rather than walked without bound. */
const MAX_DEPTH = 64;

/**
 * Every tensor of the model with external data: initializers and sparse initializers of the main
 * graph and of every subgraph (If/Loop/Scan bodies, at any depth), tensors in node attributes
 * (Constant's value), and those in model-local functions and training graphs. A tensor counts as
 * external if data_location says EXTERNAL or it carries external_data entries at all.
 */
export function listExternalData(modelBytes: Uint8Array): ExternalDataRef[] {
  const found: ExternalDataRef[] = [];
  const tensor = (bytes: Uint8Array | undefined, where: string, kind: ExternalDataRef['kind']) => {
    const ref = readTensor(message(bytes, 'tensor'), where, kind);
    if (ref) found.push(ref);
  };
  const sparse = (bytes: Uint8Array | undefined, where: string, kind: ExternalDataRef['kind']) => {
    for (const f of fields(message(bytes, 'sparse tensor'))) {
      if (f.number === SPARSE_VALUES || f.number === SPARSE_INDICES) tensor(f.bytes, where, kind);
    }
  };
  const node = (bytes: Uint8Array, where: string, depth: number) => {
    let name = '';
    let opType = '';
    const attributes: Uint8Array[] = [];
    for (const f of fields(bytes)) {
      if (f.number === NODE_NAME) name = fieldString(f, 'node.name');
      else if (f.number === NODE_OP_TYPE) opType = fieldString(f, 'node.op_type');
      else if (f.number === NODE_ATTRIBUTE) attributes.push(message(f.bytes, 'node.attribute'));
    }
    const here = `${where} > node ${name || '(unnamed)'} (${opType})`;
    for (const attribute of attributes) {
      let attrName = '';
      for (const f of fields(attribute)) if (f.number === ATTR_NAME) attrName = fieldString(f, 'attribute.name');
      const at = `${here}.${attrName}`;
      for (const f of fields(attribute)) {
        if (f.number === ATTR_T || f.number === ATTR_TENSORS) tensor(f.bytes, at, 'attribute');
        else if (f.number === ATTR_SPARSE_TENSOR || f.number === ATTR_SPARSE_TENSORS) sparse(f.bytes, at, 'attribute');
        else if (f.number === ATTR_G || f.number === ATTR_GRAPHS) graph(message(f.bytes, 'attribute.g'), at, depth + 1);
      }
    }
  };
  const graph = (bytes: Uint8Array, where: string, depth: number) => {
    if (depth > MAX_DEPTH) throw new ProtobufError(`subgraphs nest deeper than ${MAX_DEPTH} levels at ${where}`);
    for (const f of fields(bytes)) {
      if (f.number === GRAPH_INITIALIZER) tensor(f.bytes, where, 'initializer');
      else if (f.number === GRAPH_SPARSE_INITIALIZER) sparse(f.bytes, where, 'sparse_initializer');
      else if (f.number === GRAPH_NODE) node(message(f.bytes, 'graph.node'), where, depth);
    }
  };
  for (const f of fields(modelBytes)) {
    if (f.number === MODEL_GRAPH) graph(message(f.bytes, 'graph'), 'main graph', 0);
    else if (f.number === MODEL_FUNCTIONS) {
      const fn = message(f.bytes, 'function');
      let name = '';
      for (const g of fields(fn)) if (g.number === FUNCTION_NAME) name = fieldString(g, 'function.name');
      for (const g of fields(fn)) if (g.number === FUNCTION_NODE) node(message(g.bytes, 'function.node'), `function ${name}`, 0);
    } else if (f.number === MODEL_TRAINING_INFO) {
      for (const g of fields(message(f.bytes, 'training_info'))) {
        if (g.number === TRAINING_INITIALIZATION || g.number === TRAINING_ALGORITHM) graph(message(g.bytes, 'training_info graph'), 'training_info', 0);
      }
    }
  }
  return found;
}

/**
 * Lists the model's external data and checks each reference against the bundle's files: the
 * location must name a file of the bundle, relative to the model file's folder (not absolute,
 * no `..`, no backslash), and offset + length must lie within that file. Returns what each
 * reference reads; throws ExternalDataRefusedError on the first that does not resolve, and
 * CorruptModelError when the model does not parse.
 */
export function resolveExternalData(modelBytes: Uint8Array, folder: Pick<ModelFolder, 'modelFile' | 'files'>): ResolvedExternalData[] {
  const sizes = new Map(folder.files.map((f) => [f.path, f.size]));
  const base = dirname(folder.modelFile);
  let refs: ExternalDataRef[];
  try {
    refs = listExternalData(modelBytes);
  } catch (err) {
    if (err instanceof ProtobufError) throw new CorruptModelError(`${folder.modelFile} is not a valid ONNX model: ${err.message}`);
    throw err;
  }
  return refs.map((ref) => {
    const label = `${ref.kind === 'attribute' ? 'tensor' : ref.kind} ${JSON.stringify(ref.tensor)} (${ref.where})`;
    const refuse = (path: string | undefined, why: string): never => {
      throw new ExternalDataRefusedError(
        `${folder.modelFile}: ${label} keeps its data in ${path === undefined ? 'an external file with no location' : JSON.stringify(path)}, which ${why}; ` +
          'external data must be a file shipped in the model folder beside the model, named by a plain relative path',
        { tensor: ref.tensor, where: ref.where, ...(path !== undefined ? { location: path } : {}) },
      );
    };
    const location = ref.location;
    if (location === undefined || location === '') return refuse(location, 'is missing');
    if (location === ORT_MEMORY_ADDRESS_TAG) return refuse(location, 'is onnxruntime’s in-memory address tag, never allowed in a model file');
    if (location.startsWith('/') || /^[A-Za-z]:/.test(location)) return refuse(location, 'is an absolute path');
    if (location.includes('\\')) return refuse(location, 'contains a backslash');
    if (location.split('/').includes('..')) return refuse(location, "leaves the model folder ('..')");
    // './weights.bin' is the same file as 'weights.bin'; every other spelling must be canonical.
    const segments = location.split('/').filter((s) => s !== '.');
    const file = base === '.' ? segments.join('/') : `${base}/${segments.join('/')}`;
    const problem = canonicalPathProblem(file);
    if (problem) return refuse(location, `is not a canonical path (${problem})`);
    const size = sizes.get(file);
    if (size === undefined) return refuse(location, `is not a file of the bundle (its model folder holds ${describeFiles(folder.files)})`);
    const offset = byteCount(ref.offset, 0, () => refuse(location, `has offset ${JSON.stringify(ref.offset)}, not a byte count`));
    const length = byteCount(ref.length, size - offset, () => refuse(location, `has length ${JSON.stringify(ref.length)}, not a byte count`));
    if (offset > size || length < 0 || offset + length > size) {
      return refuse(location, `is ${size} bytes, too short for offset ${offset} + length ${length}`);
    }
    return { tensor: ref.tensor, where: ref.where, location, file, offset, length };
  });
}

/** The folder a verified bundle's model loads from, with the manifest's (signed) file list. */
export function bundleModelFolder(bundleDir: string, manifest: Pick<Manifest, 'modelFile' | 'files'>): ModelFolder {
  return { dir: bundlePaths(bundleDir).modelDir, modelFile: manifest.modelFile, files: manifest.files.map(({ path, size }) => ({ path, size })) };
}

/** The model file's own folder: where onnxruntime reads its external data from (as a path load would), and where the native child runs. */
export function modelFileDir(folder: ModelFolder): string {
  return join(folder.dir, dirname(folder.modelFile));
}

function readTensor(bytes: Uint8Array, where: string, kind: ExternalDataRef['kind']): ExternalDataRef | undefined {
  let name = '';
  let external = false;
  const entries = new Map<string, string>();
  for (const f of fields(bytes)) {
    if (f.number === TENSOR_NAME) name = fieldString(f, 'tensor.name');
    else if (f.number === TENSOR_DATA_LOCATION) external ||= fieldInt(f, 'tensor.data_location') === DATA_LOCATION_EXTERNAL;
    else if (f.number === TENSOR_EXTERNAL_DATA) {
      external = true;
      let key = '';
      let value = '';
      for (const e of fields(message(f.bytes, 'tensor.external_data'))) {
        if (e.number === ENTRY_KEY) key = fieldString(e, 'external_data.key');
        else if (e.number === ENTRY_VALUE) value = fieldString(e, 'external_data.value');
      }
      // protobuf semantics for a repeated key: the last one wins, as in onnxruntime's own reader.
      entries.set(key, value);
    }
  }
  if (!external) return undefined;
  return { tensor: name, where, kind, location: entries.get('location'), offset: entries.get('offset'), length: entries.get('length') };
}

function message(bytes: Uint8Array | undefined, what: string): Uint8Array {
  if (!bytes) throw new ProtobufError(`${what} is not a message`);
  return bytes;
}

/** A decimal byte count as external_data writes it; `absent` when the key is not there. */
function byteCount(text: string | undefined, absent: number, bad: () => never): number {
  if (text === undefined) return absent;
  if (!/^[0-9]{1,16}$/.test(text)) return bad();
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : bad();
}

function describeFiles(files: ModelFolder['files']): string {
  const names = files.slice(0, 5).map((f) => f.path);
  return files.length > 5 ? `${names.join(', ')} and ${files.length - 5} more` : names.join(', ') || 'no files';
}
