/**
 * Rewrites an ONNX model so every tensor that keeps its data in another file holds it inline
 * (raw_data), from bytes the host already resolved against the bundle (external-data.ts).
 *
 * Why: onnxruntime-web hands a main-graph initializer's external data to the file map it was
 * given, but for tensors inside subgraphs (If/Loop/Scan bodies) it first canonicalizes the path
 * on its own (empty) file system and refuses the model ("external data path could not be
 * canonicalized"). The sandbox therefore gets the same model with its weights inline: the
 * same graph and the same bytes, in one file. Smoke records that it did so.
 *
 * Walks ModelProto.graph, GraphProto nodes' attributes (g, graphs, t, tensors, sparse_tensor(s))
 * at any depth, initializers and sparse initializers; every other field is copied byte for byte.
 */
import { CorruptModelError } from '../errors/index.js';
import type { ExternalDataFile } from './external-data.js';
import { fields, ProtobufError, WireType } from './protobuf-reader.js';
import { encodeField, rewriteMessage } from './protobuf-writer.js';

/** Where a tensor's bytes come from: its external_data location, offset and length. */
export type ExternalBytes = (location: string, offset: number, length: number | undefined) => Uint8Array;

const MODEL = { graph: 7, functions: 25 } as const;
const GRAPH = { node: 1, initializer: 5, sparseInitializer: 15 } as const;
const NODE = { attribute: 5 } as const;
const ATTRIBUTE = { t: 5, g: 6, tensors: 10, graphs: 11, sparseTensor: 22, sparseTensors: 23 } as const;
const FUNCTION = { node: 7 } as const;
const SPARSE = { values: 1, indices: 2 } as const;
const TENSOR = { rawData: 9, externalData: 13, dataLocation: 14 } as const;
const ENTRY = { key: 1, value: 2 } as const;
const EXTERNAL = 1n;

/** Rewrites the length-delimited fields of `bytes` named in `rewrite`; copies the rest. */
function rewriteFields(bytes: Uint8Array, rewrite: Readonly<Record<number, (b: Uint8Array) => Uint8Array>>): Uint8Array {
  return rewriteMessage(bytes, (f) => (f.wireType === WireType.LENGTH_DELIMITED ? rewrite[f.number]?.(f.bytes!) : undefined)) ?? bytes;
}

function entryText(bytes: Uint8Array, field: number): string | undefined {
  for (const f of fields(bytes)) if (f.number === field && f.bytes) return Buffer.from(f.bytes).toString('utf8');
  return undefined;
}

function tensor(bytes: Uint8Array, read: ExternalBytes, counter: { tensors: number }): Uint8Array {
  const all = [...fields(bytes)];
  const external = all.some((f) => f.number === TENSOR.dataLocation && f.wireType === WireType.VARINT && f.varint === EXTERNAL);
  if (!external) return bytes;
  const entries = new Map<string, string>();
  for (const f of all) {
    if (f.number !== TENSOR.externalData || !f.bytes) continue;
    const key = entryText(f.bytes, ENTRY.key);
    if (key !== undefined) entries.set(key, entryText(f.bytes, ENTRY.value) ?? '');
  }
  const location = entries.get('location');
  if (location === undefined) throw new ProtobufError('a tensor marked EXTERNAL has no location');
  const data = read(location, Number(entries.get('offset') ?? '0'), entries.has('length') ? Number(entries.get('length')) : undefined);
  counter.tensors++;
  const parts = all.filter((f) => f.number !== TENSOR.externalData && f.number !== TENSOR.dataLocation && f.number !== TENSOR.rawData).flatMap((f) => encodeField(f, f.bytes));
  parts.push(...encodeField({ number: TENSOR.rawData, wireType: WireType.LENGTH_DELIMITED }, data));
  return Buffer.concat(parts);
}

export interface InlineOptions {
  /** Leave the main graph's dense initializers external (for an engine that takes them from a table). */
  readonly keepMainGraphInitializers?: boolean;
}

/** The model with its external tensors inline, and how many were inlined (0: `model` itself). */
export function inlineExternalData(model: Uint8Array, read: ExternalBytes, options: InlineOptions = {}): { readonly model: Uint8Array; readonly tensors: number } {
  const counter = { tensors: 0 };
  const t = (b: Uint8Array) => tensor(b, read, counter);
  const sparse = (b: Uint8Array) => rewriteFields(b, { [SPARSE.values]: t, [SPARSE.indices]: t });
  const attribute = (b: Uint8Array): Uint8Array =>
    rewriteFields(b, { [ATTRIBUTE.t]: t, [ATTRIBUTE.tensors]: t, [ATTRIBUTE.g]: graph, [ATTRIBUTE.graphs]: graph, [ATTRIBUTE.sparseTensor]: sparse, [ATTRIBUTE.sparseTensors]: sparse });
  const node = (b: Uint8Array) => rewriteFields(b, { [NODE.attribute]: attribute });
  function graph(b: Uint8Array): Uint8Array {
    return rewriteFields(b, { [GRAPH.node]: node, [GRAPH.initializer]: t, [GRAPH.sparseInitializer]: sparse });
  }
  const mainGraph = options.keepMainGraphInitializers ? (b: Uint8Array) => rewriteFields(b, { [GRAPH.node]: node, [GRAPH.sparseInitializer]: sparse }) : graph;
  const fn = (b: Uint8Array) => rewriteFields(b, { [FUNCTION.node]: node });
  const rewritten = rewriteFields(model, { [MODEL.graph]: mainGraph, [MODEL.functions]: fn });
  return counter.tensors === 0 ? { model, tensors: 0 } : { model: rewritten, tensors: counter.tensors };
}

/** Reads a location's byte range from external data already in memory (resolved against the bundle beforehand). */
export function externalBytesFrom(files: readonly ExternalDataFile[]): ExternalBytes {
  const byPath = new Map(files.map((f) => [f.path, f.data]));
  return (location, offset, length) => {
    const data = byPath.get(location);
    // resolveExternalData checked every location and range already; this guards the invariant.
    if (data === undefined || offset + (length ?? 0) > data.byteLength) throw new CorruptModelError(`external data ${location} [${offset}, +${length ?? 'end'}] is not among the verified bundle files`);
    return data.subarray(offset, length === undefined ? undefined : offset + length);
  };
}

/**
 * A model and its verified external data as onnxruntime-node loads them from memory: it takes a
 * main-graph initializer's bytes from its `externalData` table, but checks that a subgraph
 * tensor's file exists on disk ("not regular file") before it would look there, so those
 * (normally small: If/Loop bodies, Constant attributes) are inlined. Nothing is read from disk.
 */
export function forNativeFromMemory(model: Uint8Array, files: readonly ExternalDataFile[]): { readonly model: Uint8Array; readonly externalData: readonly ExternalDataFile[] } {
  if (files.length === 0) return { model, externalData: [] };
  return { model: inlineExternalData(model, externalBytesFrom(files), { keepMainGraphInitializers: true }).model, externalData: files };
}
