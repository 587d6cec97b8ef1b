// ONNX backend conformance of the sandboxed engine (Debian's libonnx-testdata), plus unit tests
// of the pieces it stands on: TensorProto decoding, graph info and tensor comparison.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import protobuf from 'protobufjs';
import { decodeTensorProto, tensorToTyped, TensorProtoError, UnsupportedTensorError } from '../src/onnx/tensor-proto.js';
import { readGraphInfo } from '../src/onnx/graph-info.js';
import { compareTensors, DEFAULT_DATA_DIR, formatReport, runConformance } from '../scripts/lib/conformance.js';
import { fields, ProtobufError, WireType } from '../src/onnx/protobuf-reader.js';
import { elementValues, type Tensor } from '../src/tensor/tensor.js';

/** Tests the sandbox passes at least (of Debian's 932 node tests; 854 here, as many as onnxruntime-node, for 1.30.0). */
const CONFORMANCE_FLOOR = 850;

const MISSING_SUITE = `the ONNX backend test suite is missing (${DEFAULT_DATA_DIR}): apt-get install libonnx-testdata`;

function requireSuite(): void {
  assert.ok(existsSync(DEFAULT_DATA_DIR), MISSING_SUITE);
}

// An independent encoder for onnx.TensorProto: protobufjs, with the typed fields packed (proto3's
// default, what onnx itself writes) or not (proto2's default; a decoder must accept both).
const TENSOR_FIELDS = `
  repeated int64 dims = 1;
  int32 data_type = 2;
  repeated float float_data = 4;
  repeated int32 int32_data = 5;
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7;
  string name = 8;
  bytes raw_data = 9;
  repeated double double_data = 10;
  repeated uint64 uint64_data = 11;
`;
const packed = protobuf.parse(`syntax = "proto3"; message TensorProto { ${TENSOR_FIELDS} }`).root.lookupType('TensorProto');
const unpacked = protobuf
  .parse(`syntax = "proto2"; message TensorProto { ${TENSOR_FIELDS.replace(/\b(int32 data_type|string name|bytes raw_data)\b/g, 'optional $1')} }`)
  .root.lookupType('TensorProto');

function encode(fields: Record<string, unknown>, type = packed): Uint8Array {
  return type.encode(type.fromObject(fields)).finish();
}

const FLOAT_VALUES = [1.5, -2.25, 0, 3e-8, Number.POSITIVE_INFINITY, -7];

describe('decodeTensorProto', () => {
  test('a float tensor with raw_data', () => {
    const raw = Buffer.from(new Float32Array(FLOAT_VALUES).buffer);
    const t = decodeTensorProto(encode({ name: 'x', dims: [2, 3], dataType: 1, rawData: raw }));
    assert.equal(t.name, 'x');
    assert.equal(t.type, 'float32');
    assert.deepEqual(t.dims, [2, 3]);
    assert.deepEqual(Buffer.from(t.data), raw);
    assert.deepEqual([...tensorToTyped(t)], [...new Float32Array(FLOAT_VALUES)]);
  });

  for (const [label, type] of [['packed', packed], ['unpacked', unpacked]] as const) {
    test(`float_data, ${label}`, () => {
      const bytes = encode({ name: 'f', dims: [3, 2], dataType: 1, floatData: FLOAT_VALUES }, type);
      // float_data (field 4) is one length-delimited field when packed, one fixed32 per value when not.
      const wireTypes = [...fields(bytes)].filter((f) => f.number === 4).map((f) => f.wireType);
      assert.deepEqual(wireTypes, label === 'packed' ? [WireType.LENGTH_DELIMITED] : FLOAT_VALUES.map(() => WireType.FIXED32));
      const t = decodeTensorProto(bytes);
      assert.equal(t.type, 'float32');
      assert.deepEqual(t.dims, [3, 2]);
      assert.deepEqual([...tensorToTyped(t)], [...new Float32Array(FLOAT_VALUES)]);
    });

    test(`int64_data with negatives and extremes, ${label}`, () => {
      const values = [0n, -1n, 42n, -(2n ** 63n), 2n ** 63n - 1n];
      const t = decodeTensorProto(encode({ dims: [5], dataType: 7, int64Data: values.map(String) }, type));
      assert.equal(t.type, 'int64');
      assert.equal(t.name, '');
      assert.deepEqual([...tensorToTyped(t)], values);
    });

    test(`double_data, ${label}`, () => {
      const t = decodeTensorProto(encode({ dims: [2], dataType: 11, doubleData: [Math.PI, -1e300] }, type));
      assert.equal(t.type, 'float64');
      assert.deepEqual([...tensorToTyped(t)], [Math.PI, -1e300]);
    });

    test(`int32_data carries int32, int8, uint8 and bool, ${label}`, () => {
      const cases: Array<[number, Tensor['type'], number[]]> = [
        [6, 'int32', [-2147483648, -1, 0, 2147483647]],
        [3, 'int8', [-128, -1, 0, 127]],
        [2, 'uint8', [0, 1, 200, 255]],
        [9, 'bool', [1, 0, 0, 1]],
      ];
      for (const [dataType, name, values] of cases) {
        const t = decodeTensorProto(encode({ dims: [2, 2], dataType, int32Data: values }, type));
        assert.equal(t.type, name);
        assert.deepEqual([...tensorToTyped(t)], values, name);
      }
      assert.throws(() => decodeTensorProto(encode({ dims: [1], dataType: 3, int32Data: [300] }, type)), /300 is out of range for int8/);
    });
  }

  test('a scalar (no dims) and an empty tensor', () => {
    const scalar = decodeTensorProto(encode({ dataType: 7, int64Data: ['-5'] }));
    assert.deepEqual(scalar.dims, []);
    assert.deepEqual([...tensorToTyped(scalar)], [-5n]);
    const empty = decodeTensorProto(encode({ dims: [0, 3], dataType: 1 }));
    assert.deepEqual(empty.dims, [0, 3]);
    assert.equal(empty.data.length, 0);
  });

  test('a truncated file ends in a clear ProtobufError', () => {
    const whole = encode({ name: 'x', dims: [2, 3], dataType: 1, rawData: Buffer.from(new Float32Array(FLOAT_VALUES).buffer) });
    for (const cut of [whole.length - 1, whole.length - 10, 3]) {
      assert.throws(
        () => decodeTensorProto(whole.subarray(0, cut)),
        (err: unknown) => err instanceof ProtobufError && /runs past the end|truncated/.test(err.message),
        `cut at ${cut}`,
      );
    }
  });

  test('data that does not fit the shape, or sits in the wrong field, is refused', () => {
    assert.throws(() => decodeTensorProto(encode({ name: 'x', dims: [2, 3], dataType: 1, rawData: Buffer.alloc(20) })), /x: raw_data has 20 bytes, shape \[2,3\] of float32 needs 24/);
    assert.throws(() => decodeTensorProto(encode({ dims: [3], dataType: 1, floatData: [1, 2] })), /float_data has 2 values, shape needs 3/);
    assert.throws(() => decodeTensorProto(encode({ dims: [1], dataType: 1, int64Data: ['1'] })), /carries its data in int64_data, expected float_data/);
    assert.throws(() => decodeTensorProto(encode({ dims: [1], dataType: 1, floatData: [1], rawData: Buffer.alloc(4) })), /more than one field/);
    assert.throws(() => decodeTensorProto(encode({ dims: [2] })), /has no data_type/);
    assert.throws(() => decodeTensorProto(encode({ dims: [2], dataType: 1 })), /but no data/);
  });

  test('unsupported element types are refused by name', () => {
    const cases: Array<[number, RegExp, Record<string, unknown>]> = [
      [8, /tensor s has unsupported element type STRING \(data_type 8\)/, { name: 's', stringData: [Buffer.from('a')] }],
      [17, /unsupported element type FLOAT8E4M3FN \(data_type 17\)/, { int32Data: [56] }],
      [14, /unsupported element type COMPLEX64/, { floatData: [1, 2] }],
      [15, /unsupported element type COMPLEX128/, { doubleData: [1, 2] }],
    ];
    for (const [dataType, message, fields] of cases) {
      assert.throws(
        () => decodeTensorProto(encode({ dims: [1], dataType, ...fields })),
        (err: unknown) => err instanceof UnsupportedTensorError && err instanceof TensorProtoError && message.test(err.message),
        String(dataType),
      );
    }
  });

  test('float16, int16, uint16 travel in int32_data; uint32 and uint64 in uint64_data', () => {
    const half = decodeTensorProto(encode({ dims: [3], dataType: 10, int32Data: [15360, 0xc000, 0x7c00] }));
    assert.equal(half.type, 'float16');
    assert.deepEqual([...tensorToTyped(half)], [15360, 0xc000, 0x7c00]);
    assert.deepEqual(Array.from(elementValues(half)), [1, -2, Infinity]);
    assert.deepEqual([...tensorToTyped(decodeTensorProto(encode({ dims: [2], dataType: 5, int32Data: [-32768, 32767] })))], [-32768, 32767]);
    assert.deepEqual([...tensorToTyped(decodeTensorProto(encode({ dims: [1], dataType: 4, int32Data: [65535] })))], [65535]);
    assert.deepEqual([...tensorToTyped(decodeTensorProto(encode({ dims: [2], dataType: 12, uint64Data: ['4294967295', '7'] })))], [4294967295, 7]);
    assert.deepEqual([...tensorToTyped(decodeTensorProto(encode({ dims: [1], dataType: 13, uint64Data: ['18446744073709551615'] })))], [2n ** 64n - 1n]);
    assert.throws(() => decodeTensorProto(encode({ dims: [1], dataType: 4, int32Data: [65536] })), /int32_data value 65536 is out of range for uint16/);
    assert.throws(() => decodeTensorProto(encode({ dims: [1], dataType: 12, uint64Data: ['4294967296'] })), /out of range for uint32/);
  });

  test('a file from the suite: test_add input_0.pb', () => {
    requireSuite();
    const t = decodeTensorProto(readFileSync(join(DEFAULT_DATA_DIR, 'test_add', 'test_data_set_0', 'input_0.pb')));
    assert.equal(t.name, 'x');
    assert.equal(t.type, 'float32');
    assert.deepEqual(t.dims, [3, 4, 5]);
    assert.equal(t.data.length, 3 * 4 * 5 * 4);
  });
});

describe('readGraphInfo', () => {
  test('test_add: one Add, inputs x and y, output sum', () => {
    requireSuite();
    const info = readGraphInfo(readFileSync(join(DEFAULT_DATA_DIR, 'test_add', 'model.onnx')));
    assert.deepEqual(info.ops, [{ domain: 'ai.onnx', opType: 'Add' }]);
    assert.deepEqual(info.nodes, [{ domain: 'ai.onnx', opType: 'Add' }]);
    assert.deepEqual(info.inputs, ['x', 'y']);
    assert.deepEqual(info.outputs, ['sum']);
    assert.deepEqual(info.inputValues.map((v) => [v.kind, v.elemType]), [['tensor', 1], ['tensor', 1]]);
    assert.equal(typeof info.opsetVersion, 'number');
  });

  test('an expanded test lists each operator once, in order of first use; a training op keeps its domain', () => {
    requireSuite();
    const info = readGraphInfo(readFileSync(join(DEFAULT_DATA_DIR, 'test_bernoulli_expanded', 'model.onnx')));
    assert.deepEqual(info.ops.map((o) => o.opType), ['RandomUniformLike', 'Greater', 'Cast']);
    const adam = readGraphInfo(readFileSync(join(DEFAULT_DATA_DIR, 'test_adam', 'model.onnx')));
    assert.deepEqual(adam.ops, [{ domain: 'ai.onnx.preview.training', opType: 'Adam' }]);
  });

  test('a sequence input is reported as such', () => {
    requireSuite();
    const info = readGraphInfo(readFileSync(join(DEFAULT_DATA_DIR, 'test_identity_sequence', 'model.onnx')));
    assert.equal(info.inputValues[0]?.kind, 'sequence');
  });
});

describe('compareTensors', () => {
  const f32 = (values: number[], dims = [values.length]): Tensor => ({ name: 'y', type: 'float32', dims, data: new Uint8Array(new Float32Array(values).buffer) });
  const i64 = (values: bigint[]): Tensor => ({ name: 'y', type: 'int64', dims: [values.length], data: new Uint8Array(new BigInt64Array(values).buffer) });

  test('tolerance, NaN and infinities', () => {
    assert.equal(compareTensors(f32([1, NaN, Infinity, 0]), f32([1.0009, NaN, Infinity, 5e-6])).ok, true);
    const off = compareTensors(f32([1, 2]), f32([1, 2.01]));
    assert.equal(off.ok, false);
    assert.match(off.reason!, /1 of 2 values do not match.*first at index 1/);
    assert.ok(Math.abs(off.maxAbsDiff - 0.01) < 1e-5);
    assert.equal(compareTensors(f32([NaN]), f32([0])).ok, false);
    assert.equal(compareTensors(f32([Infinity]), f32([-Infinity])).ok, false);
  });

  test('types and shapes must match; integers exactly', () => {
    assert.match(compareTensors(f32([1, 2]), f32([1, 2], [2, 1])).reason!, /shape \[2,1\], expected \[2\]/);
    assert.match(compareTensors(f32([1]), i64([1n])).reason!, /type int64, expected float32/);
    assert.equal(compareTensors(i64([2n ** 62n]), i64([2n ** 62n])).ok, true);
    assert.equal(compareTensors(i64([2n ** 62n]), i64([2n ** 62n + 1n])).ok, false);
  });
});

describe('ONNX backend conformance', () => {
  test('the harness itself, on onnxruntime-node, for a few tests', async () => {
    requireSuite();
    const results = await runConformance({ engine: 'native', tests: ['test_add', 'test_argmax_keepdims_random', 'test_cast_FLOAT_to_STRING', 'test_identity_sequence', 'test_bernoulli'] });
    const status = Object.fromEntries(results.tests.map((r) => [r.test, r.status]));
    assert.deepEqual(status, {
      test_add: 'passed',
      test_argmax_keepdims_random: 'passed',
      test_bernoulli: 'unsupported',
      test_cast_FLOAT_to_STRING: 'unsupported',
      test_identity_sequence: 'unsupported',
    });
    assert.deepEqual(results.totals, { tests: 5, passed: 2, failed: 0, unsupported: 3 });
  });

  test('a missing data directory is an error that says what to install', async () => {
    await assert.rejects(runConformance({ engine: 'native', dataDir: '/nonexistent/onnx-node-tests' }), /ONNX backend test data not found at \/nonexistent\/onnx-node-tests/);
  });

  test('the sandboxed engine passes every test onnxruntime-node passes on the same data', { timeout: 40 * 60_000 }, async (t) => {
    requireSuite();
    const results = await runConformance({ engine: 'sandbox' });
    for (const line of formatReport(results).trimEnd().split('\n')) t.diagnostic(line);
    assert.deepEqual(
      results.regressions.map((r) => `${r.test}: ${r.status}: ${r.reason}`),
      [],
      `${results.regressions.length} tests pass natively but not in the sandbox`,
    );
    // A drop below the floor means native lost tests too (the suite or the pinned onnxruntime changed).
    assert.ok(results.totals.passed >= CONFORMANCE_FLOOR, `${results.totals.passed} of ${results.totals.tests} passed, below the floor of ${CONFORMANCE_FLOOR}`);
  });
});
