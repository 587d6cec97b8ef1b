/**
 * Runs the ONNX backend node tests (Debian's libonnx-testdata: <dir>/test_X/model.onnx plus
 * test_data_set_N/input_K.pb and output_K.pb) against the sandboxed engine (onnxruntime-web)
 * and, on the same data, onnxruntime-node; tallies the results per operator. The bar is
 * native's: a test native passes must pass in the sandbox (else it is a regression).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { errorMessage } from '../../src/errors/index.js';
import { elementValues, isFloatType, ONNX_DATA_TYPE, type Tensor, typeOfCode } from '../../src/tensor/tensor.js';
import { runOnnxInSandbox, type EngineOptions } from '../../src/sandbox/onnx-engine.js';
import { SandboxEngineError } from '../../src/errors/index.js';
import { readGraphInfo, opName, type GraphInfo } from '../../src/onnx/graph-info.js';
import { decodeTensorProto, onnxTypeName, tensorToTyped, UnsupportedTensorError } from '../../src/onnx/tensor-proto.js';

export const DEFAULT_DATA_DIR = '/usr/share/libonnx-testdata/data/node';
/** The ONNX backend tests' relative tolerance, and the absolute one this harness uses. */
export const DEFAULT_RTOL = 1e-3;
export const DEFAULT_ATOL = 1e-5;

export type EngineKind = 'sandbox' | 'native';
export type TestStatus = 'passed' | 'failed' | 'unsupported';

export interface ConformanceOptions {
  /** Directory of test_* directories (default DEFAULT_DATA_DIR). */
  readonly dataDir?: string;
  /** 'sandbox' (default): the WebAssembly engine, with native as the reference; 'native': onnxruntime-node alone. */
  readonly engine?: EngineKind;
  /** Only the tests whose main graph uses this operator (case-insensitive). */
  readonly only?: string;
  /** Only these test directories (by name). */
  readonly tests?: readonly string[];
  readonly rtol?: number;
  readonly atol?: number;
  /** Sandbox engine options per run (sandbox engine only). */
  readonly limits?: EngineOptions;
  /** Called after each test, e.g. for progress output. */
  readonly onTest?: (result: TestResult) => void;
}

export interface TestResult {
  readonly test: string;
  /** The operators of the main graph (ai.onnx ones by bare name); the result counts for each. */
  readonly ops: readonly string[];
  readonly status: TestStatus;
  /** Why it failed or is unsupported. */
  readonly reason?: string;
  readonly dataSets: number;
  /** Over all compared float outputs. */
  readonly maxAbsDiff?: number;
  readonly maxRelDiff?: number;
  readonly ms: number;
  /** onnxruntime-node's status on the same test (sandbox runs only). */
  readonly native?: TestStatus;
  readonly nativeReason?: string;
}

export interface OpSummary {
  readonly op: string;
  readonly tests: number;
  readonly passed: number;
  readonly failed: number;
  readonly unsupported: number;
}

export interface ConformanceResults {
  readonly engine: EngineKind;
  readonly dataDir: string;
  readonly rtol: number;
  readonly atol: number;
  readonly tests: readonly TestResult[];
  /** Sorted by operator name. */
  readonly ops: readonly OpSummary[];
  readonly totals: { readonly tests: number; readonly passed: number; readonly failed: number; readonly unsupported: number };
  /** Tests native passes and the sandbox does not (sandbox runs only; must be none). */
  readonly regressions: readonly TestResult[];
}

/**
 * Tests whose reference outputs come from numpy's random generator (Bernoulli, RandomUniformLike,
 * Dropout in training mode with a non-zero ratio): no other runtime can reproduce them, so they
 * count as unsupported ("not comparable") rather than failed.
 */
export const NONDETERMINISTIC_TESTS: RegExp = /^test_(bernoulli|training_dropout(?!_zero_ratio))/;

/**
 * Tests whose expected outputs come from the ONNX reference implementation where onnxruntime
 * computes otherwise, and the engine follows onnxruntime (smoke compares against it): Resize
 * align_corners with scales whose output length is not an integer (the reference divides by the
 * unrounded length scale x input, onnxruntime by the output's actual length).
 */
export const ONNXRUNTIME_DIVERGES_TESTS: RegExp = /^test_resize_downsample_scales_(linear|cubic)_align_corners$/;

/**
 * Tests whose stored expected outputs contradict their own model or the current spec, with why: they are counted as
 * unsupported ("not comparable"), never as passed.
 */
export const OUTDATED_TESTS: ReadonlyMap<string, string> = new Map([
  ['test_cast_FLOAT_to_BFLOAT16', 'the expected bfloat16 values truncate, where the current spec and onnxruntime round to nearest even'],
  ['test_adam_multiple', 'the expected values were computed with epsilon 1e-2, but the node leaves epsilon at its schema default 1e-6'],
]);

/** A model refused for lack of support (not a wrong answer). */
export class UnsupportedError extends Error {}

interface Engine {
  run(model: Uint8Array, inputs: readonly Tensor[], outputNames: readonly string[]): Promise<Tensor[]>;
}

/** onnxruntime's own words for an operator or type it has no kernel for. */
const NOT_IMPLEMENTED = /NOT_IMPLEMENTED|Could not find an implementation|not a registered function\/op|not supported|unsupported/i;

export async function runConformance(options: ConformanceOptions = {}): Promise<ConformanceResults> {
  const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
  const kind = options.engine ?? 'sandbox';
  const rtol = options.rtol ?? DEFAULT_RTOL;
  const atol = options.atol ?? DEFAULT_ATOL;
  const native = await nativeEngine();
  const engine = kind === 'native' ? native : sandboxEngine(options.limits);
  const wanted = options.tests ? new Set(options.tests) : undefined;
  const only = options.only?.toLowerCase();

  const results: TestResult[] = [];
  for (const test of await listTests(dataDir)) {
    if (wanted && !wanted.has(test)) continue;
    const started = performance.now();
    const dir = join(dataDir, test);
    let model: Uint8Array;
    let graph: GraphInfo;
    try {
      model = await readFile(join(dir, 'model.onnx'));
      graph = readGraphInfo(model);
    } catch (err) {
      if (only) continue; // cannot tell which operators it uses
      const result: TestResult = { test, ops: [], status: 'failed', reason: `cannot read model.onnx: ${errorMessage(err)}`, dataSets: 0, ms: Math.round(performance.now() - started) };
      results.push(result);
      options.onTest?.(result);
      continue;
    }
    const ops = [...new Set(graph.ops.map(opName))];
    if (only && !ops.some((op) => op.toLowerCase() === only)) continue;
    const outcome = await runTest(engine, dir, model, graph, rtol, atol);
    const ms = Math.round(performance.now() - started);
    let result: TestResult = { test, ops, ...outcome, ms };
    if (kind === 'sandbox') {
      const reference = await runTest(native, dir, model, graph, rtol, atol);
      result = { ...result, native: reference.status, ...(reference.reason ? { nativeReason: reference.reason } : {}) };
    }
    results.push(result);
    options.onTest?.(result);
  }
  return summarize(kind, dataDir, rtol, atol, results);
}

type Outcome = Omit<TestResult, 'test' | 'ops' | 'ms'>;

async function runTest(engine: Engine, dir: string, model: Uint8Array, graph: GraphInfo, rtol: number, atol: number): Promise<Outcome> {
  const dataSets = await listDataSets(dir);
  const unsupported = (reason: string): Outcome => ({ status: 'unsupported', reason, dataSets: dataSets.length });
  if (NONDETERMINISTIC_TESTS.test(basename(dir))) return unsupported('not comparable: the expected outputs are random draws of the reference implementation');
  const outdated = OUTDATED_TESTS.get(basename(dir));
  if (outdated) return unsupported(`not comparable: ${outdated}`);
  if (ONNXRUNTIME_DIVERGES_TESTS.test(basename(dir))) return unsupported('not comparable: the ONNX reference output differs from onnxruntime, which the engine follows');
  for (const [side, values] of [['input', graph.inputValues], ['output', graph.outputValues]] as const) {
    for (const v of values) {
      if (v.kind !== 'tensor') return unsupported(`graph ${side} ${v.name} is ${/^[aeiou]/.test(v.kind) ? 'an' : 'a'} ${v.kind}, not a tensor`);
      if (v.elemType !== 0 && !typeOfCode(v.elemType)) return unsupported(`graph ${side} ${v.name} has element type ${onnxTypeName(v.elemType)}`);
    }
  }
  if (dataSets.length === 0) return { status: 'failed', reason: 'no test_data_set_N directories', dataSets: 0 };

  let maxAbsDiff = 0;
  let maxRelDiff = 0;
  for (const dataSet of dataSets) {
    const where = (file: string) => `${dataSet}/${file}`;
    let inputs: Tensor[];
    let expected: Map<string, Tensor>;
    try {
      inputs = orderByGraph(await readTensors(join(dir, dataSet), 'input', graph.inputs), graph.inputs, 'input', where).map((t) => asDeclared(t, graph.inputValues));
      expected = new Map((await readTensors(join(dir, dataSet), 'output', graph.outputs)).map(([, t]) => [t.name, asDeclared(t, graph.outputValues)]));
    } catch (err) {
      if (err instanceof UnsupportedError) return unsupported(err.message);
      return { status: 'failed', reason: `cannot read test data: ${errorMessage(err)}`, dataSets: dataSets.length };
    }
    if (expected.size === 0) return { status: 'failed', reason: `${dataSet} has no output_K.pb files`, dataSets: dataSets.length };
    let actual: Tensor[];
    try {
      actual = await engine.run(model, inputs, graph.outputs);
    } catch (err) {
      const message = errorMessage(err);
      if (err instanceof UnsupportedError) return unsupported(message);
      return { status: 'failed', reason: `${dataSet}: engine error: ${firstLine(message)}`, dataSets: dataSets.length };
    }
    const actualNames = actual.map((t) => t.name);
    if (actualNames.join('\u0000') !== graph.outputs.join('\u0000')) {
      return { status: 'failed', reason: `${dataSet}: outputs are [${actualNames.join(', ')}], the graph declares [${graph.outputs.join(', ')}]`, dataSets: dataSets.length };
    }
    for (const got of actual) {
      const want = expected.get(got.name);
      if (!want) continue; // no reference value for this output
      const c = compareTensors(want, got, rtol, atol);
      maxAbsDiff = Math.max(maxAbsDiff, c.maxAbsDiff);
      maxRelDiff = Math.max(maxRelDiff, c.maxRelDiff);
      if (!c.ok) return { status: 'failed', reason: `${dataSet}: output ${got.name}: ${c.reason}`, dataSets: dataSets.length, maxAbsDiff, maxRelDiff };
    }
  }
  return { status: 'passed', dataSets: dataSets.length, maxAbsDiff, maxRelDiff };
}

/** input_K.pb / output_K.pb in K order, each named by its TensorProto name or else the K-th graph name. */
async function readTensors(dir: string, prefix: 'input' | 'output', graphNames: readonly string[]): Promise<Array<[string, Tensor]>> {
  const pattern = new RegExp(`^${prefix}_(\\d+)\\.pb$`);
  const files = (await readdir(dir))
    .map((f) => [f, pattern.exec(f)?.[1]] as const)
    .filter((e): e is readonly [string, string] => e[1] !== undefined)
    .sort((a, b) => Number(a[1]) - Number(b[1]));
  const out: Array<[string, Tensor]> = [];
  for (const [file, k] of files) {
    let t: Tensor;
    try {
      t = decodeTensorProto(await readFile(join(dir, file)));
    } catch (err) {
      const message = `${file}: ${errorMessage(err)}`;
      if (err instanceof UnsupportedTensorError) throw new UnsupportedError(message);
      throw new Error(message);
    }
    const name = t.name !== '' ? t.name : graphNames[Number(k)];
    if (name === undefined) throw new Error(`${file}: unnamed, and the graph has only ${graphNames.length} ${prefix}s`);
    out.push([file, { ...t, name }]);
  }
  return out;
}

/**
 * numpy has no bfloat16, so the suite stores bfloat16 test data as uint16 bit patterns: such a
 * tensor takes the type its graph declares.
 */
function asDeclared(t: Tensor, values: GraphInfo['inputValues']): Tensor {
  const declared = values.find((v) => v.name === t.name);
  return declared?.elemType === ONNX_DATA_TYPE.bfloat16 && t.type === 'uint16' ? { ...t, type: 'bfloat16' } : t;
}

function orderByGraph(tensors: Array<[string, Tensor]>, names: readonly string[], side: string, where: (f: string) => string): Tensor[] {
  const byName = new Map<string, Tensor>();
  for (const [file, t] of tensors) {
    if (!names.includes(t.name)) throw new Error(`${where(file)} is named ${t.name}, which is not a graph ${side}`);
    byName.set(t.name, t);
  }
  return names.flatMap((n) => byName.get(n) ?? []);
}

export interface Comparison {
  readonly ok: boolean;
  readonly reason?: string;
  readonly maxAbsDiff: number;
  readonly maxRelDiff: number;
}

/**
 * Same type, same dims, and values within |got - want| <= atol + rtol * |want| (numpy's
 * assert_allclose), NaN matching NaN and infinities matching exactly; integer and bool types exact.
 */
export function compareTensors(want: Tensor, got: Tensor, rtol = DEFAULT_RTOL, atol = DEFAULT_ATOL): Comparison {
  if (want.type !== got.type) return { ok: false, reason: `type ${got.type}, expected ${want.type}`, maxAbsDiff: 0, maxRelDiff: 0 };
  if (want.dims.length !== got.dims.length || want.dims.some((d, i) => d !== got.dims[i])) {
    return { ok: false, reason: `shape [${got.dims}], expected [${want.dims}]`, maxAbsDiff: 0, maxRelDiff: 0 };
  }
  tensorToTyped(want); // checks byte lengths against shapes
  tensorToTyped(got);
  const w = elementValues(want);
  const g = elementValues(got);
  const exact = !isFloatType(want.type);
  let maxAbsDiff = 0;
  let maxRelDiff = 0;
  let bad = 0;
  let first = -1;
  for (let i = 0; i < w.length; i++) {
    const a = w[i]!;
    const b = g[i]!;
    if (typeof a === 'bigint' || typeof b === 'bigint') {
      if (a !== b) {
        bad++;
        if (first < 0) first = i;
        const diff = Math.abs(Number(BigInt(b) - BigInt(a)));
        maxAbsDiff = Math.max(maxAbsDiff, diff);
        if (a !== 0n) maxRelDiff = Math.max(maxRelDiff, diff / Math.abs(Number(a)));
      }
      continue;
    }
    if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
    const diff = Math.abs(b - a);
    // Infinities and NaN only match themselves (handled above): inf - -inf is not "within" rtol * inf.
    const within = !exact && Number.isFinite(a) && Number.isFinite(b) && diff <= atol + rtol * Math.abs(a);
    if (!Number.isNaN(diff)) {
      maxAbsDiff = Math.max(maxAbsDiff, diff);
      if (a !== 0) maxRelDiff = Math.max(maxRelDiff, diff / Math.abs(a));
    }
    if (!within) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad === 0) return { ok: true, maxAbsDiff, maxRelDiff };
  const tolerance = exact ? 'exactly' : `within rtol ${rtol} / atol ${atol}`;
  const reason =
    `${bad} of ${w.length} values do not match ${tolerance} (max abs diff ${fmt(maxAbsDiff)}, max rel diff ${fmt(maxRelDiff)}; ` +
    `first at index ${first}: expected ${String(w[first])}, got ${String(g[first])})`;
  return { ok: false, reason, maxAbsDiff, maxRelDiff };
}

/** One line per test, for --verbose. */
export function formatTestLine(r: TestResult): string {
  const reason = r.reason ? `  ${r.reason}` : '';
  return `${r.status.padEnd(11)} ${r.test} [${r.ops.join(', ')}] ${r.ms} ms${reason}`;
}

/** The per-operator table, totals and the list of failures. */
export function formatReport(results: ConformanceResults): string {
  const header = ['operator', 'tests', 'passed', 'failed', 'unsupported'];
  const rows = results.ops.map((o) => [o.op, String(o.tests), String(o.passed), String(o.failed), String(o.unsupported)]);
  const t = results.totals;
  const total = ['TOTAL (tests)', String(t.tests), String(t.passed), String(t.failed), String(t.unsupported)];
  const widths = header.map((h, i) => Math.max(h.length, total[i]!.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') + '\n';
  const rule = widths.map((w) => '-'.repeat(w)).join('  ') + '\n';
  let out = `ONNX backend node tests: ${results.dataDir}, engine ${results.engine}, rtol ${results.rtol} atol ${results.atol}\n\n`;
  out += line(header) + rule + rows.map(line).join('') + rule + line(total);
  if (results.engine === 'sandbox') {
    const nativePassed = results.tests.filter((r) => r.native === 'passed').length;
    out += `\nonnxruntime-node on the same data passes ${nativePassed}; the sandbox fails ${results.regressions.length} of those\n`;
    for (const r of results.regressions) out += `  REGRESSION ${r.test} [${r.ops.join(', ')}]: ${r.status}: ${r.reason}\n`;
  }
  const failures = results.tests.filter((r) => r.status === 'failed');
  if (failures.length > 0) {
    out += `\nFailures (${failures.length}):\n`;
    for (const f of failures) out += `  ${f.test} [${f.ops.join(', ')}]: ${f.reason}\n`;
  }
  return out;
}

function fmt(n: number): string {
  return Number.isFinite(n) ? n.toPrecision(3) : String(n);
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 500);
}

async function listTests(dataDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const hint = dataDir === DEFAULT_DATA_DIR ? ': apt-get install libonnx-testdata' : '';
    throw new Error(`ONNX backend test data not found at ${dataDir}${hint}`);
  }
  const tests: string[] = [];
  for (const name of names.sort()) {
    if (!name.startsWith('test_')) continue;
    const s = await stat(join(dataDir, name, 'model.onnx')).catch(() => undefined);
    if (s?.isFile()) tests.push(name);
  }
  return tests;
}

async function listDataSets(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((n) => /^test_data_set_\d+$/.test(n))
    .sort((a, b) => Number(a.slice(14)) - Number(b.slice(14)));
}

function summarize(
  engine: EngineKind,
  dataDir: string,
  rtol: number,
  atol: number,
  tests: TestResult[],
): ConformanceResults {
  const rows = new Map<string, { op: string; tests: number; passed: number; failed: number; unsupported: number }>();
  for (const t of tests) {
    for (const op of t.ops) {
      let row = rows.get(op);
      if (!row) rows.set(op, (row = { op, tests: 0, passed: 0, failed: 0, unsupported: 0 }));
      row.tests++;
      row[t.status]++;
    }
  }
  const count = (s: TestStatus) => tests.filter((t) => t.status === s).length;
  return {
    engine,
    dataDir,
    rtol,
    atol,
    tests,
    ops: [...rows.values()].sort((a, b) => (a.op < b.op ? -1 : a.op > b.op ? 1 : 0)),
    totals: { tests: tests.length, passed: count('passed'), failed: count('failed'), unsupported: count('unsupported') },
    regressions: tests.filter((t) => t.native === 'passed' && t.status !== 'passed'),
  };
}

function sandboxEngine(options: EngineOptions | undefined): Engine {
  return {
    async run(model, inputs) {
      try {
        return await runOnnxInSandbox(model, inputs, options);
      } catch (err) {
        if (err instanceof SandboxEngineError && NOT_IMPLEMENTED.test(err.engineMessage)) throw new UnsupportedError(`onnxruntime-web: ${err.engineMessage}`);
        throw err;
      }
    },
  };
}

async function nativeEngine(): Promise<Engine> {
  const { default: ort } = await import('onnxruntime-node');
  return {
    async run(model, inputs, outputNames) {
      let session: import('onnxruntime-node').InferenceSession;
      try {
        session = await ort.InferenceSession.create(model, { logSeverityLevel: 4 });
      } catch (err) {
        const message = firstLine(errorMessage(err));
        if (NOT_IMPLEMENTED.test(message)) throw new UnsupportedError(`onnxruntime: ${message}`);
        throw err;
      }
      try {
        const feeds: Record<string, import('onnxruntime-node').Tensor> = {};
        for (const t of inputs) {
          const values = tensorToTyped(t);
          if (t.type === 'bfloat16') throw new UnsupportedError(`onnxruntime-node has no bfloat16 tensors (input ${t.name})`);
          feeds[t.name] = new ort.Tensor(t.type, values, [...t.dims]);
        }
        const results = await session.run(feeds, [...outputNames]);
        return outputNames.map((name) => {
          const r = results[name];
          if (!r) throw new Error(`onnxruntime returned no ${name}`);
          const type = r.type as string;
          if (!(type in ONNX_DATA_TYPE)) throw new UnsupportedError(`output ${name} has type ${type}`);
          const data = r.data as ArrayBufferView;
          const bytes = Uint8Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
          const tensor: Tensor = { name, type: type as Tensor['type'], dims: r.dims.map(Number), data: bytes };
          return tensor;
        });
      } finally {
        await session.release();
      }
    },
  };
}
