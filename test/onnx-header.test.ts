// ONNX header reading (our protobuf reader) and model inspection (onnxruntime-node): the sample
// model's facts, and damaged inputs that must end in CorruptModelError, never a crash.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readModelHeader } from '../src/onnx/model-header.js';
import { inspectOnnxModel } from '../src/native/inspect-model.js';
import { fields, fieldInt, fieldString, ProtobufError } from '../src/onnx/protobuf-reader.js';
import { CorruptModelError } from '../src/errors/index.js';
import type { ModelInfo } from '../src/release/types.js';
import { SAMPLE_MODEL, SAMPLE_MODEL_SHA256, SAMPLE_MODEL_SIZE, seededBytes, TempDirs } from './helpers/fixtures.js';
import { sha256Hex } from '../src/hashing/stream-hash.js';

const temp = new TempDirs();
after(() => temp.cleanup());

let sample: Buffer;
let dir: string;
before(async () => {
  sample = await readFile(SAMPLE_MODEL);
  dir = await temp.make('modelship-onnx-');
});

const EXPECTED_INFO: ModelInfo = {
  format: 'onnx',
  irVersion: 8,
  opsets: [{ domain: 'ai.onnx', version: 17 }],
  producer: { name: 'modelship-sample', version: '1' },
  inputs: [{ name: 'features', type: 'float32', shape: ['batch', 4] }],
  outputs: [{ name: 'probabilities', type: 'float32', shape: ['batch', 3] }],
};

/** Writes `bytes` as `<dir>/<name>` and expects inspectOnnxModel to fail with CorruptModelError naming it. */
async function expectCorrupt(name: string, bytes: Uint8Array | string, reason?: RegExp): Promise<CorruptModelError> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  let caught: unknown;
  try {
    await inspectOnnxModel(path);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CorruptModelError, `${name}: expected CorruptModelError, got ${caught === undefined ? 'success' : String(caught)}`);
  assert.equal(caught.type, 'CorruptModelError');
  assert.equal(caught.retryable, false);
  assert.ok(caught.message.includes(name), `${name}: message does not name the file: ${caught.message}`);
  if (reason) assert.match(caught.message, reason);
  return caught;
}

// --- a tiny protobuf writer, independent of the reader under test ---
function varint(value: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return Buffer.from(out);
}
const tag = (field: number, wire: number) => varint((field << 3) | wire);
const vField = (field: number, value: number | bigint) => Buffer.concat([tag(field, 0), varint(value)]);
const bField = (field: number, bytes: Uint8Array | string) => {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes);
  return Buffer.concat([tag(field, 2), varint(b.length), b]);
};

describe('readModelHeader', () => {
  test('the sample model: IR version 8, opset ai.onnx 17, producer modelship-sample 1', () => {
    assert.equal(sample.length, SAMPLE_MODEL_SIZE);
    assert.equal(sha256Hex(sample), SAMPLE_MODEL_SHA256, 'models/sample/sample-mlp.onnx changed');
    assert.deepEqual(readModelHeader(sample), {
      irVersion: 8,
      opsets: [{ domain: 'ai.onnx', version: 17 }],
      producer: { name: 'modelship-sample', version: '1' },
      hasGraph: true,
    });
  });

  test('a hand-built ModelProto: several opsets, custom domains, fields in any order, unknown fields skipped', () => {
    const model = Buffer.concat([
      bField(8, Buffer.concat([bField(1, 'ai.onnx.ml'), vField(2, 3)])),
      bField(2, 'prodüceŕ'),
      vField(1, 9),
      bField(7, Buffer.alloc(0)), // an empty graph message is still a graph
      bField(3, '2.1'),
      bField(8, vField(2, 21)), // default domain: empty string
      Buffer.concat([tag(20, 1), Buffer.alloc(8)]), // unknown fixed64
      Buffer.concat([tag(21, 5), Buffer.alloc(4)]), // unknown fixed32
      vField(5, 1), // model_version
    ]);
    assert.deepEqual(readModelHeader(model), {
      irVersion: 9,
      opsets: [
        { domain: 'ai.onnx.ml', version: 3 },
        { domain: 'ai.onnx', version: 21 },
      ],
      producer: { name: 'prodüceŕ', version: '2.1' },
      hasGraph: true,
    });
  });

  test('rejects a ModelProto without ir_version or without graph', () => {
    assert.throws(() => readModelHeader(bField(7, Buffer.alloc(0))), /no ir_version/);
    assert.throws(() => readModelHeader(vField(1, 8)), /no graph/);
    assert.throws(() => readModelHeader(new Uint8Array(0)), /no ir_version/);
  });

  test('rejects wrongly typed fields, bad UTF-8 and an opset without a version', () => {
    assert.throws(() => readModelHeader(Buffer.concat([bField(1, 'x'), bField(7, '')])), /ir_version is not a varint field/);
    assert.throws(() => readModelHeader(Buffer.concat([vField(1, 8), vField(2, 1), bField(7, '')])), /producer_name is not a length-delimited field/);
    assert.throws(() => readModelHeader(Buffer.concat([vField(1, 8), bField(2, Buffer.from([0xc3, 0x28])), bField(7, '')])), /producer_name is not valid UTF-8/);
    assert.throws(() => readModelHeader(Buffer.concat([vField(1, 8), bField(7, ''), bField(8, bField(1, 'ai.onnx'))])), /opset_import without a version/);
    assert.throws(() => readModelHeader(Buffer.concat([vField(1, 8), bField(7, ''), vField(8, 17)])), /opset_import is not a message/);
  });
});

describe('protobuf reader bounds', () => {
  const collect = (bytes: Uint8Array) => [...fields(bytes)];

  test('truncated varints, over-long varints, field number 0, groups and lengths past the end are ProtobufErrors', () => {
    assert.throws(() => collect(Buffer.from([0x08, 0x80])), (e) => e instanceof ProtobufError && /truncated varint/.test(e.message));
    assert.throws(() => collect(Buffer.from([0x08, ...Array(10).fill(0xff), 0x01])), /varint longer than 10 bytes/);
    assert.throws(() => collect(Buffer.from([0x00, 0x01])), /field number 0/);
    assert.throws(() => collect(Buffer.from([0x0b])), /unsupported wire type 3/);
    assert.throws(() => collect(Buffer.from([0x0c])), /unsupported wire type 4/);
    assert.throws(() => collect(Buffer.from([0x12, 0x05, 0x61])), /length 5 at byte 2 runs past the end/);
    assert.throws(() => collect(Buffer.concat([tag(1, 1), Buffer.alloc(7)])), /field runs past the end/);
    assert.throws(() => collect(Buffer.concat([tag(1, 5), Buffer.alloc(3)])), /field runs past the end/);
    // A length near 2^64 must not wrap around into a small number.
    assert.throws(() => collect(Buffer.concat([tag(2, 2), varint(2n ** 64n - 1n), Buffer.from('abc')])), /runs past the end/);
  });

  test('int64 values: negatives decode as two’s complement, values beyond 2^53 are refused', () => {
    const [neg] = collect(vField(1, -1n));
    assert.equal(fieldInt(neg!, 'x'), -1);
    const [big] = collect(vField(1, 2n ** 60n));
    assert.throws(() => fieldInt(big!, 'x'), /x is out of range/);
    const [str] = collect(bField(2, 'héllo'));
    assert.equal(fieldString(str!, 's'), 'héllo');
    assert.throws(() => fieldInt(str!, 's'), /s is not a varint field/);
  });

  test('a length-delimited field is a view of exactly its bytes', () => {
    const all = collect(Buffer.concat([bField(2, 'ab'), bField(3, 'cde'), vField(4, 300)]));
    assert.deepEqual(all.map((f) => [f.number, f.wireType, f.bytes ? Buffer.from(f.bytes).toString() : f.varint]), [
      [2, 2, 'ab'],
      [3, 2, 'cde'],
      [4, 0, 300n],
    ]);
  });
});

describe('inspectOnnxModel', () => {
  test('the sample model: features float32 [batch, 4] → probabilities float32 [batch, 3]', async () => {
    assert.deepEqual(await inspectOnnxModel(SAMPLE_MODEL), EXPECTED_INFO);
  });

  test('a truncated model (first half of the bytes) is CorruptModelError naming the file', async () => {
    await expectCorrupt('truncated.onnx', sample.subarray(0, Math.floor(sample.length / 2)), /truncated\.onnx is not a valid ONNX model: .*runs past the end/);
  });

  test('random garbage bytes are CorruptModelError naming the file', async () => {
    for (const size of [1, 2, 7, 64, 1000, 1630, 4096, 65536]) {
      for (const seed of ['a', 'b', 'c']) await expectCorrupt(`garbage-${size}-${seed}.onnx`, seededBytes(`garbage-${seed}`, size));
    }
    await expectCorrupt('zeros.onnx', Buffer.alloc(1024));
    await expectCorrupt('ones.onnx', Buffer.alloc(1024, 0xff));
  });

  test('an empty file is CorruptModelError naming the file', async () => {
    await expectCorrupt('empty.onnx', Buffer.alloc(0), /empty\.onnx is not a valid ONNX model: no ir_version/);
  });

  test('text files (including the ONNX text format and JSON) are CorruptModelError naming the file', async () => {
    await expectCorrupt('readme.txt', 'This is not a model.\nJust some text.\n');
    await expectCorrupt('model.onnx.txt', 'ir_version: 8\nproducer_name: "modelship-sample"\ngraph {\n  name: "g"\n}\nopset_import {\n  version: 17\n}\n');
    await expectCorrupt('model.json', JSON.stringify(EXPECTED_INFO));
    await expectCorrupt('pointer.onnx', 'version https://git-lfs.github.com/spec/v1\noid sha256:498ac7e3ee6ac34c7666fc7950fe80390e0f0b5e467bfbb3749cff9788ad9e74\nsize 1630\n');
  });

  test('a valid header with a garbage or meaningless graph is CorruptModelError: from our graph walk, or from onnxruntime', async () => {
    const graphGarbage = Buffer.concat([vField(1, 8), bField(7, seededBytes('graph', 300)), bField(8, vField(2, 17))]);
    assert.equal(readModelHeader(graphGarbage).irVersion, 8);
    // The external-data check walks the whole graph before onnxruntime sees it.
    await expectCorrupt('bad-graph.onnx', graphGarbage, /bad-graph\.onnx is not a valid ONNX model: /);
    // Well-formed protobuf, but an operator no opset has: only onnxruntime can tell.
    const node = Buffer.concat([bField(1, Buffer.from('x')), bField(2, Buffer.from('y')), bField(4, Buffer.from('NoSuchOperator'))]);
    const unknownOp = Buffer.concat([vField(1, 8), bField(7, bField(1, node)), bField(8, vField(2, 17))]);
    await expectCorrupt('unknown-op.onnx', unknownOp, /onnxruntime-node cannot load unknown-op\.onnx/);
    // The sample's own header, cut right after the graph: no opset_import, which onnxruntime refuses.
    const fieldsOfSample = [...fields(sample)];
    assert.ok(fieldsOfSample.some((f) => f.number === 7));
    const graphEnd = endOfField(sample, 7);
    await expectCorrupt('no-opset.onnx', sample.subarray(0, graphEnd), /onnxruntime-node cannot load no-opset\.onnx/);
  });

  test('every prefix of the sample either fails with CorruptModelError or (cut between trailing fields) reads the same', async () => {
    const opsetEnd = endOfField(sample, 8);
    for (let n = 0; n < sample.length; n++) {
      const path = join(dir, 'prefix.onnx');
      await writeFile(path, sample.subarray(0, n));
      let result: ModelInfo | undefined;
      try {
        result = await inspectOnnxModel(path);
      } catch (err) {
        assert.ok(err instanceof CorruptModelError, `prefix ${n}: ${String(err)}`);
        assert.ok(err.message.includes('prefix.onnx'), err.message);
        continue;
      }
      assert.ok(n >= opsetEnd, `prefix of ${n} bytes (before the end of opset_import at ${opsetEnd}) was accepted`);
      assert.deepEqual(result, EXPECTED_INFO, `prefix ${n}`);
    }
  });

  test('single-byte damage anywhere never crashes: CorruptModelError or a model that loads', async () => {
    let corrupt = 0;
    for (let i = 0; i < sample.length; i += 3) {
      const damaged = Buffer.from(sample);
      damaged[i]! ^= 0xff;
      const path = join(dir, 'damaged.onnx');
      await writeFile(path, damaged);
      try {
        await inspectOnnxModel(path);
      } catch (err) {
        assert.ok(err instanceof CorruptModelError, `byte ${i}: ${String(err)}`);
        assert.ok(err.message.includes('damaged.onnx'), err.message);
        corrupt++;
      }
    }
    assert.ok(corrupt > 0, 'no damage was detected at all');
  });

  test('a missing file is not reported as a corrupt model', async () => {
    await assert.rejects(inspectOnnxModel(join(dir, 'missing.onnx')), (err: unknown) => !(err instanceof CorruptModelError) && (err as NodeJS.ErrnoException).code === 'ENOENT');
  });
});

/** Byte offset just past the first top-level field `number` of a protobuf message. */
function endOfField(buf: Buffer, number: number): number {
  for (let n = 1; n <= buf.length; n++) {
    try {
      const found = [...fields(buf.subarray(0, n))];
      if (found.some((f) => f.number === number)) return n;
    } catch {
      // a field still incomplete at this length
    }
  }
  throw new Error(`no field ${number}`);
}
