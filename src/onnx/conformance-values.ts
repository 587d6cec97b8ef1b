/**
 * The conformance harness's path for tests whose graph inputs or outputs are sequences or
 * optionals (test_if_seq, test_loop13_seq, test_sequence_map_*, test_optional_*, ...): their
 * input_K.pb / output_K.pb files are SequenceProto or OptionalProto messages, chosen by the
 * graph's declared type, and a sequence matches when it has as many items and each item
 * matches (compareTensors).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../errors.js';
import { PluginReportedError } from '../sandbox/errors.js';
import { typeOfCode, type Tensor } from '../sandbox/tensor-codec.js';
import { isTensor, type Value } from '../sandbox/value-codec.js';
import { compareTensors, type Comparison } from './conformance.js';
import type { GraphInfo, ValueInfo } from './graph-info.js';
import { decodeTensorProto, UnsupportedTensorError } from './tensor-proto.js';
import { decodeOptionalProto, decodeSequenceProto } from './value-proto.js';

export type RunValues = (model: Uint8Array, inputs: readonly Value[]) => Promise<Value[]>;

export interface ValuesOutcome {
  readonly status: 'passed' | 'failed' | 'unsupported';
  readonly reason?: string;
  readonly dataSets: number;
  readonly maxAbsDiff?: number;
  readonly maxRelDiff?: number;
}

function held(v: ValueInfo): boolean {
  if (v.kind === 'tensor') return true;
  if (v.kind === 'sequence') return v.innerKind === 'tensor';
  if (v.kind === 'optional') return v.innerKind === 'tensor' || v.innerKind === 'sequence';
  return false;
}

/** The graph has sequence or optional inputs/outputs, and only kinds the engine holds. */
export function usesHeldContainers(graph: GraphInfo): boolean {
  const all = [...graph.inputValues, ...graph.outputValues];
  return all.some((v) => v.kind === 'sequence' || v.kind === 'optional') && all.every(held);
}

async function readValue(file: string, declared: ValueInfo): Promise<Value> {
  const bytes = await readFile(file);
  const fallback = typeOfCode(declared.elemType) ?? 'float32';
  let v: Value;
  if (declared.kind === 'sequence') v = decodeSequenceProto(bytes, fallback);
  else if (declared.kind === 'optional') v = decodeOptionalProto(bytes, fallback, declared.innerKind === 'sequence');
  else v = decodeTensorProto(bytes);
  return { ...v, name: declared.name };
}

async function readValues(dir: string, prefix: 'input' | 'output', declared: readonly ValueInfo[]): Promise<Value[]> {
  const pattern = new RegExp(`^${prefix}_(\\d+)\\.pb$`);
  const files = (await readdir(dir)).flatMap((f) => {
    const k = pattern.exec(f)?.[1];
    return k === undefined ? [] : [[f, Number(k)] as const];
  });
  files.sort((a, b) => a[1] - b[1]);
  const out: Value[] = [];
  for (const [file, k] of files) {
    const v = declared[k];
    if (!v) throw new Error(`${file}: the graph has only ${declared.length} ${prefix}s`);
    try {
      out.push(await readValue(join(dir, file), v));
    } catch (err) {
      if (err instanceof UnsupportedTensorError) throw err;
      throw new Error(`${file}: ${errorMessage(err)}`);
    }
  }
  return out;
}

function compareValues(want: Value, got: Value, rtol: number, atol: number): Comparison {
  const none = { maxAbsDiff: 0, maxRelDiff: 0 };
  if (isTensor(want) || isTensor(got)) {
    if (isTensor(want) && isTensor(got)) return compareTensors(want, got, rtol, atol);
    return { ok: false, reason: `got ${isTensor(got) ? 'a tensor' : `a ${got.kind}`}, expected ${isTensor(want) ? 'a tensor' : `a ${want.kind}`}`, ...none };
  }
  if (want.kind !== got.kind) return { ok: false, reason: `got a ${got.kind}, expected a ${want.kind}`, ...none };
  if (want.kind === 'optional' && got.kind === 'optional') {
    if ((want.value === null) !== (got.value === null)) return { ok: false, reason: got.value === null ? 'empty optional, expected a value' : 'a value, expected an empty optional', ...none };
    return want.value && got.value ? compareValues(want.value, got.value, rtol, atol) : { ok: true, ...none };
  }
  if (want.kind === 'sequence' && got.kind === 'sequence') {
    if (want.items.length !== got.items.length) return { ok: false, reason: `${got.items.length} sequence items, expected ${want.items.length}`, ...none };
    let maxAbsDiff = 0;
    let maxRelDiff = 0;
    for (let i = 0; i < want.items.length; i++) {
      const c = compareTensors(want.items[i] as Tensor, got.items[i] as Tensor, rtol, atol);
      maxAbsDiff = Math.max(maxAbsDiff, c.maxAbsDiff);
      maxRelDiff = Math.max(maxRelDiff, c.maxRelDiff);
      if (!c.ok) return { ok: false, reason: `item ${i}: ${c.reason}`, maxAbsDiff, maxRelDiff };
    }
    return { ok: true, maxAbsDiff, maxRelDiff };
  }
  return { ok: false, reason: 'different kinds', ...none };
}

export async function runValuesTest(run: RunValues, dir: string, dataSets: readonly string[], model: Uint8Array, graph: GraphInfo, rtol: number, atol: number): Promise<ValuesOutcome> {
  const n = dataSets.length;
  let maxAbsDiff = 0;
  let maxRelDiff = 0;
  for (const dataSet of dataSets) {
    let inputs: Value[];
    let expected: Value[];
    try {
      inputs = await readValues(join(dir, dataSet), 'input', graph.inputValues);
      expected = await readValues(join(dir, dataSet), 'output', graph.outputValues);
    } catch (err) {
      if (err instanceof UnsupportedTensorError) return { status: 'unsupported', reason: err.message, dataSets: n };
      return { status: 'failed', reason: `cannot read test data: ${errorMessage(err)}`, dataSets: n };
    }
    let actual: Value[];
    try {
      actual = await run(model, inputs);
    } catch (err) {
      const line = errorMessage(err).split('\n')[0]!.slice(0, 500);
      if (err instanceof PluginReportedError && /^unsupported\b/.test(line)) return { status: 'unsupported', reason: line, dataSets: n };
      return { status: 'failed', reason: `${dataSet}: engine error: ${line}`, dataSets: n };
    }
    const names = actual.map((v) => v.name);
    if (names.join('\u0000') !== graph.outputs.join('\u0000')) return { status: 'failed', reason: `${dataSet}: outputs are [${names.join(', ')}], the graph declares [${graph.outputs.join(', ')}]`, dataSets: n };
    for (const want of expected) {
      const got = actual.find((v) => v.name === want.name)!;
      const c = compareValues(want, got, rtol, atol);
      maxAbsDiff = Math.max(maxAbsDiff, c.maxAbsDiff);
      maxRelDiff = Math.max(maxRelDiff, c.maxRelDiff);
      if (!c.ok) return { status: 'failed', reason: `${dataSet}: output ${want.name}: ${c.reason}`, dataSets: n, maxAbsDiff, maxRelDiff };
    }
  }
  return { status: 'passed', dataSets: n, maxAbsDiff, maxRelDiff };
}
