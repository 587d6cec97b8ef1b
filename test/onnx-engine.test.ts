// The sandboxed ONNX engine (plugins/onnx-engine, AssemblyScript -> WebAssembly) run through
// the real Extism JS host: outputs against real onnxruntime-node, the operator list, clean
// "unsupported" / "decode error" / "model error" rejections for bad models (never a trap, and
// the plugin keeps working), and the module's import / memory limits.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import createPlugin, { type Plugin } from '@extism/extism';
import { PROJECT_ROOT } from '../src/paths.js';
import type { Tensor } from '../src/sandbox/tensor-codec.js';
import { seededRandom } from '../src/smoke/seeded-random.js';
import {
  assertClose, type Bytes, expectRejection, FLOAT, floatTensor, INT64, model, node, pbBytes, pbInt, pbMsg, pbStr, runEngine, runNative, valueInfo, varint,
} from './helpers/onnx-models.js';

// tsconfig has no DOM lib, so type the bits of the WebAssembly global this test uses.
interface WasmApi {
  Module: {
    new (bytes: Uint8Array): object;
    imports(module: object): { module: string; name: string; kind: string }[];
    exports(module: object): { name: string; kind: string }[];
  };
  RuntimeError: new (message?: string) => Error;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const isTrap = (err: unknown): boolean => err instanceof WA.RuntimeError;

const WASM_PATH = join(PROJECT_ROOT, 'dist', 'plugins', 'onnx-engine.wasm');
const SAMPLE_MODEL = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const CNN_MODEL = join(PROJECT_ROOT, 'models', 'cnn', 'small-cnn.onnx');

let wasm: Uint8Array;

before(async () => {
  if (!existsSync(WASM_PATH)) {
    const built = spawnSync('bash', [join(PROJECT_ROOT, 'plugins', 'onnx-engine', 'build.sh')], { encoding: 'utf8' });
    assert.equal(built.status, 0, `building the engine failed:\n${built.stderr}`);
  }
  wasm = new Uint8Array(await readFile(WASM_PATH));
});

async function newPlugin(): Promise<Plugin> {
  return createPlugin({ wasm: [{ data: wasm }] }, { useWasi: false });
}

const UINT8 = 2;

/** AttributeProto TENSOR holding an int64 vector. */
function int64TensorAttr(name: string, values: readonly number[]): Bytes {
  const tensor = [...pbInt(1, values.length), ...pbInt(2, INT64), ...pbBytes(7, values.flatMap((v) => varint(v)))];
  return pbMsg(5, pbStr(1, name), pbInt(20, 4), pbMsg(5, tensor));
}

describe('onnx-engine plugin', () => {
  test('matches onnxruntime-node on the sample MLP (batch 3)', async () => {
    const bytes = new Uint8Array(await readFile(SAMPLE_MODEL));
    const inputs = [floatTensor('features', [3, 4], 101, 3)];
    const plugin = await newPlugin();
    const got = await runEngine(plugin, bytes, inputs);
    assertClose(got, await runNative(bytes, inputs), 1e-4);
    assert.deepEqual(got.map((t) => [t.name, t.type, t.dims]), [['probabilities', 'float32', [3, 3]]]);
  });

  test('matches onnxruntime-node on the small CNN (batch 3), repeatedly on one instance', async () => {
    const bytes = new Uint8Array(await readFile(CNN_MODEL));
    const plugin = await newPlugin();
    for (const seed of [7, 8, 9]) {
      const inputs = [floatTensor('image', [3, 1, 16, 16], seed, 1)];
      const got = await runEngine(plugin, bytes, inputs);
      assertClose(got, await runNative(bytes, inputs), 1e-4);
      assert.deepEqual(got.map((t) => [t.name, t.type, t.dims]), [['probabilities', 'float32', [3, 10]]]);
    }
  });

  test('handles int64 shape tensors (Constant, Reshape, Unsqueeze opset 13, Concat) like onnxruntime', async () => {
    const bytes = model(13, [
      node('Constant', 'shape', [], ['s'], int64TensorAttr('value', [3, -1])),
      node('Reshape', 'reshape', ['x', 's'], ['r']),
      node('Constant', 'axes', [], ['a'], int64TensorAttr('value', [0])),
      node('Unsqueeze', 'unsqueeze', ['r', 'a'], ['u']),
      node('Concat', 'concat', ['s', 's'], ['ss'], pbMsg(5, pbStr(1, 'axis'), pbInt(20, 2), pbInt(3, 0))),
      valueInfo(11, 'x', FLOAT, [2, 3]),
      valueInfo(12, 'u', FLOAT, [1, 3, 2]),
      valueInfo(12, 'ss', INT64, [4]),
    ]);
    const inputs = [floatTensor('x', [2, 3], 5)];
    const got = await runEngine(await newPlugin(), bytes, inputs);
    assertClose(got, await runNative(bytes, inputs), 0);
    assert.deepEqual([...new BigInt64Array(Uint8Array.from(got[1]!.data).buffer)], [3n, -1n, 3n, -1n]);
  });

  test('CumSum and ReduceLogSumExp on float32 match onnxruntime (the ONNX suite tests them in float64 only)', async () => {
    const scalarAxis = pbMsg(5, pbStr(1, 'value'), pbInt(20, 4), pbMsg(5, [...pbInt(2, INT64), ...pbBytes(7, varint(1))]));
    const bytes = model(13, [
      node('Constant', 'axis', [], ['ax'], scalarAxis),
      node('CumSum', 'cumsum', ['x', 'ax'], ['c']),
      node('ReduceLogSumExp', 'rlse', ['x'], ['r'], pbMsg(5, pbStr(1, 'axes'), pbInt(20, 7), pbInt(8, 1)), pbMsg(5, pbStr(1, 'keepdims'), pbInt(20, 2), pbInt(3, 0))),
      valueInfo(11, 'x', FLOAT, [3, 5]),
      valueInfo(12, 'c', FLOAT, [3, 5]),
      valueInfo(12, 'r', FLOAT, [3]),
    ]);
    const inputs = [floatTensor('x', [3, 5], 11, 2)];
    assertClose(await runEngine(await newPlugin(), bytes, inputs), await runNative(bytes, inputs), 1e-5);
  });

  test('supported_ops lists at least the required operators', async () => {
    const out = await (await newPlugin()).call('supported_ops');
    const ops = JSON.parse(out!.text()) as string[];
    assert.ok(Array.isArray(ops) && ops.every((o) => typeof o === 'string'));
    const required = [
      'Gemm', 'MatMul', 'Add', 'Sub', 'Mul', 'Div', 'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Softmax', 'LogSoftmax', 'Exp',
      'Sqrt', 'Clip', 'Reshape', 'Flatten', 'Transpose', 'Concat', 'Squeeze', 'Unsqueeze', 'Identity', 'Constant', 'Dropout',
      'BatchNormalization', 'Conv', 'MaxPool', 'AveragePool', 'GlobalAveragePool',
    ];
    for (const op of required) assert.ok(ops.includes(op), `supported_ops lacks ${op}`);
    assert.deepEqual(ops, [...ops].sort(), 'sorted');
  });

  test('refuses an unsupported operator by name', async () => {
    const bytes = model(17, [
      node('TfIdfVectorizer', 'tfidf_1', ['boxes', 'scores'], ['selected']),
      valueInfo(11, 'boxes', FLOAT, [1, 2, 4]),
      valueInfo(11, 'scores', FLOAT, [1, 1, 2]),
      valueInfo(12, 'selected', INT64, ['n', 3]),
    ]);
    const inputs = [floatTensor('boxes', [1, 2, 4], 1), floatTensor('scores', [1, 1, 2], 2)];
    const plugin = await newPlugin();
    await expectRejection(plugin, bytes, inputs, /unsupported operator TfIdfVectorizer \(node "tfidf_1", domain ai\.onnx\)/);
    // an operator from another domain is named with its domain
    const custom = model(17, [
      pbMsg(1, pbStr(1, 'x'), pbStr(2, 'y'), pbStr(3, 'c0'), pbStr(4, 'Frobnicate'), pbStr(7, 'com.example')),
      valueInfo(11, 'x', FLOAT, [2]),
      valueInfo(12, 'y', FLOAT, [2]),
    ]);
    await expectRejection(plugin, custom, [floatTensor('x', [2], 3)], /unsupported operator Frobnicate \(node "c0", domain com\.example\)/);
  });

  test('refuses an unsupported data type, naming the input, node and domain', async () => {
    const bytes = model(14, [node('Softmax', 'softmax0', ['a'], ['c']), valueInfo(11, 'a', UINT8, [2]), valueInfo(12, 'c', UINT8, [2])]);
    const u8 = (name: string): Tensor => ({ name, type: 'uint8', dims: [2], data: Uint8Array.from([1, 2]) });
    await expectRejection(await newPlugin(), bytes, [u8('a')], /unsupported data type uint8 for input input of Softmax \(node "softmax0", domain ai\.onnx\)/);
  });

  test('reports model errors: a missing input, a wrong input shape', async () => {
    const bytes = new Uint8Array(await readFile(SAMPLE_MODEL));
    const plugin = await newPlugin();
    await expectRejection(plugin, bytes, [], /model error: missing input features/);
    await expectRejection(plugin, bytes, [floatTensor('features', [3, 5], 1)], /model error: input features has shape \[3,5\]/);
  });

  test('truncated, garbage and empty models are decode errors, and the plugin keeps working', async () => {
    const cnn = new Uint8Array(await readFile(CNN_MODEL));
    const image = [floatTensor('image', [3, 1, 16, 16], 11, 1)];
    const want = await runNative(cnn, image);
    const plugin = await newPlugin();
    const next = seededRandom(99);
    const garbage = Uint8Array.from({ length: 2000 }, () => Math.floor(next() * 256));
    for (const [what, bytes] of [
      ['truncated', cnn.subarray(0, Math.floor(cnn.length / 2))],
      ['garbage', garbage],
      ['empty', new Uint8Array(0)],
    ] as const) {
      const message = await expectRejection(plugin, bytes, image, /decode error/);
      assert.ok(message.length < 500, `${what}: ${message}`);
      // the same instance still runs a good model afterwards
      assertClose(await runEngine(plugin, cnn, image), want, 1e-4);
    }
    assertClose(await runEngine(await newPlugin(), cnn, image), want, 1e-4);
  });

  test('never traps on truncated or corrupted models (fuzz)', async () => {
    const cnn = new Uint8Array(await readFile(CNN_MODEL));
    const image = [floatTensor('image', [1, 1, 16, 16], 12, 1)];
    let plugin = await newPlugin();
    const next = seededRandom(2024);
    const cases: Uint8Array[] = [];
    for (let len = 0; len < cnn.length; len += 13) cases.push(cnn.subarray(0, len));
    for (let i = 0; i < 300; i++) {
      const m = Uint8Array.from(cnn);
      const flips = 1 + Math.floor(next() * 4);
      for (let f = 0; f < flips; f++) m[Math.floor(next() * m.length)] = Math.floor(next() * 256);
      cases.push(m);
    }
    const outcomes = { ok: 0, decode: 0, model: 0, unsupported: 0 };
    for (const bytes of cases) {
      try {
        const out = await runEngine(plugin, bytes, image);
        assert.ok(out.length >= 0);
        outcomes.ok++;
      } catch (err) {
        if (isTrap(err)) {
          plugin = await newPlugin();
          assert.fail(`trap on a ${bytes.length}-byte model: ${(err as Error).message}`);
        }
        const m = /^Plugin-originated error: (decode error|model error|unsupported)/.exec((err as Error).message);
        assert.ok(m, `unexpected rejection: ${(err as Error).message}`);
        outcomes[m[1] === 'decode error' ? 'decode' : m[1] === 'model error' ? 'model' : 'unsupported']++;
      }
    }
    assert.equal(outcomes.ok + outcomes.decode + outcomes.model + outcomes.unsupported, cases.length);
    assert.ok(outcomes.decode > cases.length / 4, JSON.stringify(outcomes));
  });

  test('imports only extism:host/env kernel functions and caps memory at 4096 pages', () => {
    const module = new WA.Module(wasm);
    const imports = WA.Module.imports(module);
    assert.ok(imports.length > 0);
    for (const i of imports) {
      assert.equal(i.module, 'extism:host/env', `import ${i.module}.${i.name}`);
      assert.equal(i.kind, 'function', `import ${i.name} is a ${i.kind}`);
      assert.doesNotMatch(i.name, /http/);
    }
    const exports = WA.Module.exports(module).map((e) => `${e.kind}:${e.name}`);
    for (const e of ['function:run', 'function:supported_ops', 'memory:memory']) assert.ok(exports.includes(e), `exports ${e}`);
    const limits = memoryLimits(wasm);
    assert.ok(limits.max !== undefined, 'the memory has no maximum');
    assert.ok(limits.max <= 4096, `maximum ${limits.max} pages`);
  });
});

/** Limits of the module's (single, defined) memory, read from the binary's memory section. */
function memoryLimits(bytes: Uint8Array): { min: number; max?: number } {
  let p = 8; // magic + version
  const leb = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[p++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return result;
      shift += 7;
    }
  };
  assert.deepEqual([...bytes.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d]);
  let found: { min: number; max?: number } | undefined;
  while (p < bytes.length) {
    const id = bytes[p++]!;
    const size = leb();
    const end = p + size;
    if (id === 5) {
      assert.equal(leb(), 1, 'one memory');
      const flags = bytes[p++]!;
      const min = leb();
      found = flags & 1 ? { min, max: leb() } : { min };
    }
    p = end;
  }
  assert.ok(found, 'no memory section');
  return found;
}
