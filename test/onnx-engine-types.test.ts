// The engine's element types: every op family that computes on more than float32 (arithmetic,
// comparison, reductions, CumSum, Clip, Where, Mod, bit ops, Pow, Range, Cast) over int8 ...
// uint64, float16 and float64, each checked against onnxruntime-node on a small model built
// by the venv's onnx package (test/fixtures/make_typed_models.py), or against onnx's reference
// implementation where onnxruntime has no kernel for the type, plus the model errors the
// engine gives where onnxruntime would crash or return garbage (integer division by zero).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import createPlugin, { type Plugin } from '@extism/extism';
import ort from 'onnxruntime-node';
import { PROJECT_ROOT } from '../src/paths.js';
import { compareTensors } from '../src/onnx/conformance.js';
import { decodeResponse, ELEMENT_BYTES, encodeRequest, typedValues, type Tensor, type TensorType } from '../src/sandbox/tensor-codec.js';

const PYTHON = join(PROJECT_ROOT, '.venv', 'bin', 'python');
const WASM_PATH = join(PROJECT_ROOT, 'dist', 'plugins', 'onnx-engine.wasm');

interface CaseTensor {
  name: string;
  type: TensorType;
  dims: number[];
  values: Array<number | string | boolean>;
}
interface Case {
  label: string;
  model: string;
  inputs: CaseTensor[];
  error?: string;
  /** onnx.reference's outputs: the oracle where onnxruntime has no kernel for the type. */
  reference?: CaseTensor[];
}

/** The fixture's values (float16 as bit patterns, 64-bit integers as strings) as raw bytes. */
function toTensor(t: CaseTensor): Tensor {
  const n = t.values.length;
  const buf = Buffer.alloc(n * ELEMENT_BYTES[t.type]);
  t.values.forEach((v, i) => {
    switch (t.type) {
      case 'float32': buf.writeFloatLE(Number(v), i * 4); break;
      case 'float64': buf.writeDoubleLE(Number(v), i * 8); break;
      case 'float16': case 'uint16': buf.writeUInt16LE(Number(v), i * 2); break;
      case 'int16': buf.writeInt16LE(Number(v), i * 2); break;
      case 'int8': buf.writeInt8(Number(v), i); break;
      case 'uint8': case 'bool': buf.writeUInt8(Number(v), i); break;
      case 'int32': buf.writeInt32LE(Number(v), i * 4); break;
      case 'uint32': buf.writeUInt32LE(Number(v), i * 4); break;
      case 'int64': buf.writeBigInt64LE(BigInt(v as string), i * 8); break;
      case 'uint64': buf.writeBigUInt64LE(BigInt(v as string), i * 8); break;
    }
  });
  return { name: t.name, type: t.type, dims: t.dims, data: new Uint8Array(buf) };
}

async function runNative(model: Uint8Array, inputs: readonly Tensor[]): Promise<Tensor[]> {
  const session = await ort.InferenceSession.create(model, { logSeverityLevel: 4 });
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs) feeds[t.name] = new ort.Tensor(t.type, typedValues(t) as ort.Tensor.DataType, [...t.dims]);
    const results = await session.run(feeds);
    return session.outputNames.map((name) => {
      const v = results[name]!;
      const data = v.data as ArrayBufferView;
      return { name, type: v.type as TensorType, dims: [...v.dims], data: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
    });
  } finally {
    await session.release();
  }
}

describe('onnx-engine element types, against onnxruntime-node', () => {
  let dir: string;
  let cases: Case[];
  let plugin: Plugin;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'modelship-typed-'));
    execFileSync(PYTHON, [join(PROJECT_ROOT, 'test', 'fixtures', 'make_typed_models.py'), dir]);
    cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as Case[];
    plugin = await createPlugin({ wasm: [{ data: new Uint8Array(readFileSync(WASM_PATH)) }] }, { useWasi: false });
  });
  after(async () => {
    await plugin?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = async (c: Case): Promise<Tensor[]> => {
    const model = new Uint8Array(readFileSync(join(dir, c.model)));
    const out = await plugin.call('run', new Uint8Array(encodeRequest(model, c.inputs.map(toTensor))));
    await plugin.reset();
    return decodeResponse(out!.bytes());
  };

  test('every numeric type, op by op: same type, shape and values (integers and casts bit-exact)', async () => {
    const mismatches: string[] = [];
    let compared = 0;
    let byReference = 0;
    for (const c of cases.filter((k) => !k.error)) {
      const model = new Uint8Array(readFileSync(join(dir, c.model)));
      const inputs = c.inputs.map(toTensor);
      let want: Tensor[];
      try {
        want = await runNative(model, inputs);
      } catch (err) {
        if (!/NOT_IMPLEMENTED|invalid model|Could not find an implementation/i.test((err as Error).message)) throw err;
        want = c.reference!.map(toTensor);
        byReference++;
      }
      let got: Tensor[];
      try {
        got = await run(c);
      } catch (err) {
        mismatches.push(`${c.label}: engine error ${(err as Error).message}`);
        continue;
      }
      for (let k = 0; k < want.length; k++) {
        const exact = c.label.startsWith('Cast');
        if (exact && (got[k]!.type !== want[k]!.type || Buffer.compare(Buffer.from(got[k]!.data), Buffer.from(want[k]!.data)) !== 0)) {
          mismatches.push(`${c.label}: engine ${[...typedValues(got[k]!)]} vs onnxruntime ${[...typedValues(want[k]!)]}`);
          continue;
        }
        const r = compareTensors(want[k]!, got[k]!, 1e-6, 0);
        if (!r.ok) mismatches.push(`${c.label}: ${r.reason}`);
      }
      compared++;
    }
    assert.deepEqual(mismatches, []);
    assert.ok(compared > 300, `compared ${compared} cases`);
    assert.ok(byReference < compared / 2, `${byReference} of ${compared} cases had no onnxruntime kernel`);
  });

  test('integer division by zero, Mod fmod=0 on floats and mixed input types are model errors naming the node', async () => {
    const errors = cases.filter((k) => k.error);
    assert.equal(errors.length, 3);
    for (const c of errors) {
      await assert.rejects(run(c), (err: unknown) => err instanceof Error && new RegExp(c.error!).test(err.message), c.label);
      await plugin.reset();
    }
  });
});
