// The quantization family in the sandboxed engine against onnxruntime-node: QuantizeLinear and
// DequantizeLinear (per tensor, per axis, blocked), DynamicQuantizeLinear, MatMulInteger and
// QLinearMatMul, ConvInteger and QLinearConv, the dynamic-quantization chain transformer
// models use, and refusals of inconsistent parameters.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Tensor, TensorType } from '../src/sandbox/tensor-codec.js';
import { type AttrValue, buildModel, checkAgainstNative, expectEngineError, randomFloats, randomInts, runEngine, singleOp, tensor, values } from './helpers/onnx-graph.js';

const range = (t: TensorType): [number, number] => (t === 'int8' ? [-128, 127] : [0, 255]);

function op(opset: number, name: string, inputs: string[], attrs: Record<string, AttrValue>, graphInputs: Tensor[], init: Tensor[], outputs: Array<{ name: string; type: TensorType }>): Uint8Array {
  return singleOp(opset, { op: name, inputs, outputs: outputs.map((o) => o.name), attrs }, graphInputs.map((t) => ({ name: t.name, type: t.type, dims: t.dims })), outputs, init);
}

describe('QuantizeLinear / DequantizeLinear against onnxruntime', () => {
  test('per tensor: uint8 and int8, ties to even, saturation, no zero point', async () => {
    // halves of the scale land exactly on ties: 0.5, 1.5, 2.5, -0.5, ... and far out of range
    const x = tensor('x', 'float32', [2, 6], [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 1000, -1000, 0.24, 7.75, 63.5, -64.5].map((v) => v * 0.5));
    for (const type of ['uint8', 'int8'] as const) {
      for (const zp of [0, type === 'uint8' ? 128 : -3]) {
        const model = op(13, 'QuantizeLinear', ['x', 's', 'z'], {}, [x], [tensor('s', 'float32', [], [0.5]), tensor('z', type, [], [zp])], [{ name: 'y', type }]);
        await checkAgainstNative(model, [x], `quantize ${type} zp ${zp}`);
      }
    }
    const noZp = op(10, 'QuantizeLinear', ['x', 's'], {}, [x], [tensor('s', 'float32', [], [0.5])], [{ name: 'y', type: 'uint8' }]);
    await checkAgainstNative(noZp, [x], 'quantize without zero point (uint8)');
  });

  test('per axis (opset 13) on axis 0, 1 and -1', async () => {
    const x = randomFloats('x', [3, 4, 5], 3, 4);
    for (const [axis, len] of [[0, 3], [1, 4], [-1, 5]] as const) {
      const s = tensor('s', 'float32', [len], Array.from({ length: len }, (_, i) => 0.02 + 0.01 * i));
      for (const type of ['uint8', 'int8'] as const) {
        const z = type === 'int8' ? randomInts('z', type, [len], axis + 7, -10, 10) : randomInts('z', type, [len], axis + 7, 100, 150);
        const q = op(13, 'QuantizeLinear', ['x', 's', 'z'], { axis }, [x], [s, z], [{ name: 'y', type }]);
        await checkAgainstNative(q, [x], `quantize axis ${axis} ${type}`);
        const xq = randomInts('xq', type, [3, 4, 5], axis + 3, ...range(type));
        const dq = op(13, 'DequantizeLinear', ['xq', 's', 'z'], { axis }, [xq], [s, z], [{ name: 'y', type: 'float32' }]);
        await checkAgainstNative(dq, [xq], `dequantize axis ${axis} ${type}`);
      }
    }
  });

  test('blocked (opset 21): block_size along an axis, with a partial last block', async () => {
    const x = randomFloats('x', [4, 10], 21, 3);
    const s = tensor('s', 'float32', [4, 3], Array.from({ length: 12 }, (_, i) => 0.01 + 0.003 * i));
    const z = randomInts('z', 'int8', [4, 3], 5, -5, 5);
    const q = op(21, 'QuantizeLinear', ['x', 's', 'z'], { axis: 1, block_size: 4 }, [x], [s, z], [{ name: 'y', type: 'int8' }]);
    await checkAgainstNative(q, [x], 'blocked quantize');
    const xq = randomInts('xq', 'int8', [4, 10], 9, -128, 127);
    const dq = op(21, 'DequantizeLinear', ['xq', 's', 'z'], { axis: 1, block_size: 4 }, [xq], [s, z], [{ name: 'y', type: 'float32' }]);
    await checkAgainstNative(dq, [xq], 'blocked dequantize');
    // output_dtype without a zero point
    const od = op(21, 'QuantizeLinear', ['x', 's1'], { output_dtype: 3 }, [x], [tensor('s1', 'float32', [], [0.02])], [{ name: 'y', type: 'int8' }]);
    await checkAgainstNative(od, [x], 'output_dtype int8');
  });

  test('DequantizeLinear of uint8, int8 and int32 (per tensor)', async () => {
    for (const type of ['uint8', 'int8', 'int32'] as const) {
      const xq = randomInts('xq', type, [2, 3, 4], 4, type === 'int32' ? -100000 : range(type)[0], type === 'int32' ? 100000 : range(type)[1]);
      const init = [tensor('s', 'float32', [], [0.037])];
      const inputs = ['xq', 's'];
      if (type !== 'int32') {
        init.push(tensor('z', type, [], [type === 'int8' ? -4 : 17]));
        inputs.push('z');
      }
      const model = op(13, 'DequantizeLinear', inputs, {}, [xq], init, [{ name: 'y', type: 'float32' }]);
      await checkAgainstNative(model, [xq], `dequantize ${type}`);
    }
  });

  test('refuses inconsistent scales and zero points', async () => {
    const x = randomFloats('x', [3, 4], 1);
    const perAxis10 = op(10, 'QuantizeLinear', ['x', 's'], {}, [x], [tensor('s', 'float32', [4], [1, 2, 3, 4])], [{ name: 'y', type: 'uint8' }]);
    await expectEngineError(perAxis10, [x], /scale must be a scalar before opset 13/);
    const wrongLen = op(13, 'QuantizeLinear', ['x', 's'], { axis: 0 }, [x], [tensor('s', 'float32', [4], [1, 2, 3, 4])], [{ name: 'y', type: 'uint8' }]);
    await expectEngineError(wrongLen, [x], /per-axis scale must have shape \[3\]/);
    const zpShape = op(13, 'QuantizeLinear', ['x', 's', 'z'], { axis: 1 }, [x], [tensor('s', 'float32', [4], [1, 2, 3, 4]), tensor('z', 'uint8', [], [1])], [{ name: 'y', type: 'uint8' }]);
    await expectEngineError(zpShape, [x], /zero point shape \[\] does not match scale shape \[4\]/);
    const blocked = op(21, 'QuantizeLinear', ['x', 's'], { axis: 1, block_size: 3 }, [x], [tensor('s', 'float32', [3, 1], [1, 2, 3])], [{ name: 'y', type: 'uint8' }]);
    await expectEngineError(blocked, [x], /blocked scale shape \[3,1\] does not match x \[3,4\] with block_size 3/);
    const xq = randomInts('xq', 'int32', [3], 1, -5, 5);
    const int32zp = op(13, 'DequantizeLinear', ['xq', 's', 'z'], {}, [xq], [tensor('s', 'float32', [], [1]), tensor('z', 'int32', [], [2])], [{ name: 'y', type: 'float32' }]);
    await expectEngineError(int32zp, [xq], /an int32 x needs a zero x_zero_point/);
    const od = op(23, 'DequantizeLinear', ['xq', 's'], { output_dtype: 10 }, [xq], [tensor('s', 'float32', [], [1])], [{ name: 'y', type: 'float32' }]);
    await expectEngineError(od, [xq], /unsupported attribute value output_dtype=float16 \(float32 only\) for DequantizeLinear/);
    const xf = randomFloats('xq', [3], 1);
    const floatIn = op(13, 'DequantizeLinear', ['xq', 's'], {}, [xf], [tensor('s', 'float32', [], [1])], [{ name: 'y', type: 'float32' }]);
    await expectEngineError(floatIn, [xf], /unsupported data type float32 for input x of DequantizeLinear/);
  });
});

describe('DynamicQuantizeLinear, MatMulInteger, QLinearMatMul against onnxruntime', () => {
  const dql = (x: Tensor) => op(11, 'DynamicQuantizeLinear', ['x'], {}, [x], [], [{ name: 'y', type: 'uint8' }, { name: 'y_scale', type: 'float32' }, { name: 'y_zero_point', type: 'uint8' }]);

  test('DynamicQuantizeLinear: mixed signs, all positive, all negative, all zero', async () => {
    const cases: Array<[string, Tensor]> = [
      ['mixed', randomFloats('x', [3, 17], 5, 6)],
      ['positive', tensor('x', 'float32', [5], [0.1, 2, 3.3, 7, 9.9])],
      ['negative', tensor('x', 'float32', [4], [-0.5, -2, -3.25, -11])],
      ['zeros', tensor('x', 'float32', [3], [0, 0, 0])],
    ];
    for (const [what, x] of cases) await checkAgainstNative(dql(x), [x], `DynamicQuantizeLinear ${what}`, 0, 0);
  });

  test('MatMulInteger: uint8 x uint8 / int8, scalar and per-column zero points, batches', async () => {
    for (const bType of ['uint8', 'int8'] as const) {
      for (const [aDims, bDims] of [[[4, 9], [9, 6]], [[7, 33], [33, 21]], [[2, 3, 9], [9, 13]], [[2, 9, 5], [2, 5, 17]], [[9], [9, 4]]] as const) {
        const a = randomInts('a', 'uint8', aDims, aDims.length + 3, 0, 255);
        const b = randomInts('b', bType, bDims, bDims.length + 5, ...range(bType));
        const n = bDims[bDims.length - 1]!;
        // onnxruntime takes a per-column B zero point for a 2-D B only
        const bzp = bType === 'int8' ? tensor('bz', 'int8', [], [3]) : bDims.length === 2 ? randomInts('bz', 'uint8', [n], 2, 100, 140) : tensor('bz', 'uint8', [], [130]);
        const model = op(10, 'MatMulInteger', ['a', 'b', 'az', 'bz'], {}, [a, b], [tensor('az', 'uint8', [], [121]), bzp], [{ name: 'y', type: 'int32' }]);
        await checkAgainstNative(model, [a, b], `MatMulInteger ${aDims} x ${bDims} ${bType}`);
        const plain = op(10, 'MatMulInteger', ['a', 'b'], {}, [a, b], [], [{ name: 'y', type: 'int32' }]);
        await checkAgainstNative(plain, [a, b], `MatMulInteger without zero points ${bType}`);
      }
    }
  });

  test('the dynamic quantization chain of transformer models is exact', async () => {
    // DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q, x_zp, W_zp) -> Cast -> Mul(x_scale * W_scale)
    const w = randomInts('w', 'int8', [32, 24], 77, -127, 127);
    const model = buildModel({
      opset: 13,
      nodes: [
        { op: 'DynamicQuantizeLinear', inputs: ['x'], outputs: ['xq', 'xs', 'xz'] },
        { op: 'MatMulInteger', inputs: ['xq', 'w', 'xz', 'wz'], outputs: ['acc'] },
        { op: 'Cast', inputs: ['acc'], outputs: ['accf'], attrs: { to: 1 } },
        { op: 'Mul', inputs: ['xs', 'ws'], outputs: ['scale'] },
        { op: 'Mul', inputs: ['accf', 'scale'], outputs: ['y'] },
      ],
      inputs: [{ name: 'x', type: 'float32', dims: [2, 5, 32] }],
      outputs: [{ name: 'y', type: 'float32' }, { name: 'acc', type: 'int32' }],
      initializers: [w, tensor('wz', 'int8', [], [0]), tensor('ws', 'float32', [], [0.0123])],
    });
    const x = randomFloats('x', [2, 5, 32], 31, 3);
    const got = await checkAgainstNative(model, [x], 'dynamic quantization chain', 0, 0);
    assert.ok(values(got[1]!).some((v) => Math.abs(v) > 1000), 'the int32 accumulators are exercised');
  });

  test('QLinearMatMul: uint8 and int8, per-column b scale and zero point, 3-D', async () => {
    for (const type of ['uint8', 'int8'] as const) {
      for (const [aDims, bDims] of [[[3, 8], [8, 5]], [[2, 3, 8], [8, 5]]] as const) {
        const a = randomInts('a', type, aDims, 11, ...range(type));
        const b = randomInts('b', type, bDims, 12, ...range(type));
        const zp = (name: string, v: number) => tensor(name, type, [], [type === 'int8' ? v - 128 : v]);
        const init = [tensor('as', 'float32', [], [0.02]), zp('az', 130), tensor('bs', 'float32', [], [0.015]), zp('bz', 120), tensor('ys', 'float32', [], [0.3]), zp('yz', 125)];
        const model = op(10, 'QLinearMatMul', ['a', 'as', 'az', 'b', 'bs', 'bz', 'ys', 'yz'], {}, [a, b], init, [{ name: 'y', type }]);
        await checkAgainstNative(model, [a, b], `QLinearMatMul ${type} ${aDims}`);
      }
    }
    const a = randomInts('a', 'uint8', [4, 6], 1, 0, 255);
    const b = randomInts('b', 'uint8', [6, 5], 2, 0, 255);
    const perCol = [tensor('as', 'float32', [], [0.02]), tensor('az', 'uint8', [], [128]), tensor('bs', 'float32', [5], [0.01, 0.02, 0.03, 0.015, 0.005]), randomInts('bz', 'uint8', [5], 3, 120, 135), tensor('ys', 'float32', [], [0.5]), tensor('yz', 'uint8', [], [100])];
    const model = op(10, 'QLinearMatMul', ['a', 'as', 'az', 'b', 'bs', 'bz', 'ys', 'yz'], {}, [a, b], perCol, [{ name: 'y', type: 'uint8' }]);
    await checkAgainstNative(model, [a, b], 'QLinearMatMul per-column b');
  });

  test('refuses float inputs and mismatched zero points', async () => {
    const a = randomFloats('a', [2, 3], 1);
    const b = randomInts('b', 'uint8', [3, 2], 1, 0, 255);
    const model = op(10, 'MatMulInteger', ['a', 'b'], {}, [a, b], [], [{ name: 'y', type: 'int32' }]);
    await expectEngineError(model, [a, b], /unsupported data type float32 for input A of MatMulInteger \(node "matmulinteger0"\) \(uint8 or int8\)/);
    const au = randomInts('a', 'uint8', [2, 3], 1, 0, 255);
    const zp = op(10, 'MatMulInteger', ['a', 'b', 'az'], {}, [au, b], [tensor('az', 'int8', [], [1])], [{ name: 'y', type: 'int32' }]);
    await expectEngineError(zp, [au, b], /a_zero_point type int8 differs from its input's type uint8/);
    const shape = op(10, 'MatMulInteger', ['a', 'b', '', 'bz'], {}, [au, b], [tensor('bz', 'uint8', [3], [1, 2, 3])], [{ name: 'y', type: 'int32' }]);
    await expectEngineError(shape, [au, b], /unsupported b_zero_point of shape \[3\].*one value per column of B, 2/);
  });
});

describe('ConvInteger and QLinearConv against onnxruntime', () => {
  test('ConvInteger: pads, strides, dilations, group, zero points', async () => {
    const x = randomInts('x', 'uint8', [2, 4, 7, 6], 1, 0, 255);
    for (const [attrs, wDims] of [
      [{}, [3, 4, 3, 3]],
      [{ pads: { ints: [1, 2, 1, 0] }, strides: { ints: [2, 1] } }, [5, 4, 3, 2]],
      [{ dilations: { ints: [2, 1] }, group: 2 }, [4, 2, 2, 3]],
      [{ auto_pad: 'SAME_UPPER' }, [2, 4, 3, 3]],
    ] as const) {
      const w = randomInts('w', 'uint8', wDims, wDims[0], 0, 255);
      const model = op(10, 'ConvInteger', ['x', 'w', 'xz', 'wz'], attrs, [x], [w, tensor('xz', 'uint8', [], [120]), tensor('wz', 'uint8', [], [131])], [{ name: 'y', type: 'int32' }]);
      await checkAgainstNative(model, [x], `ConvInteger ${JSON.stringify(attrs)}`);
    }
  });

  test('QLinearConv: uint8 and int8 weights, per-channel w_scale / w_zero_point, bias, 1-D and 2-D', async () => {
    for (const wType of ['uint8', 'int8'] as const) {
      const x = randomInts('x', 'uint8', [1, 3, 9, 8], 5, 0, 255);
      const w = randomInts('w', wType, [4, 3, 3, 3], 6, ...range(wType));
      const wz = wType === 'int8' ? tensor('wz', 'int8', [4], [0, 0, 0, 0]) : randomInts('wz', 'uint8', [4], 4, 120, 136);
      const init = [
        tensor('xs', 'float32', [], [0.02]), tensor('xz', 'uint8', [], [127]), w,
        tensor('ws', 'float32', [4], [0.01, 0.004, 0.02, 0.008]), wz,
        tensor('ys', 'float32', [], [0.25]), tensor('yz', 'uint8', [], [90]),
        randomInts('b', 'int32', [4], 7, -3000, 3000),
      ];
      const model = op(10, 'QLinearConv', ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', 'b'], { pads: { ints: [1, 1, 1, 1] }, strides: { ints: [1, 2] } }, [x], init, [{ name: 'y', type: 'uint8' }]);
      await checkAgainstNative(model, [x], `QLinearConv ${wType}`);
    }
    const x1 = randomInts('x', 'int8', [2, 2, 11], 8, -128, 127);
    const init1 = [tensor('xs', 'float32', [], [0.05]), tensor('xz', 'int8', [], [-2]), randomInts('w', 'int8', [4, 1, 3], 9, -128, 127), tensor('ws', 'float32', [], [0.01]), tensor('wz', 'int8', [], [0]), tensor('ys', 'float32', [], [0.2]), tensor('yz', 'int8', [], [5])];
    const conv1d = op(10, 'QLinearConv', ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz'], { group: 2, pads: { ints: [2, 0] } }, [x1], init1, [{ name: 'y', type: 'int8' }]);
    await checkAgainstNative(conv1d, [x1], 'QLinearConv 1-D int8 group 2');
  });

  test('refuses a bias of the wrong type and a kernel larger than the input', async () => {
    const x = randomInts('x', 'uint8', [1, 1, 2, 2], 5, 0, 255);
    const init = [tensor('xs', 'float32', [], [0.02]), tensor('xz', 'uint8', [], [127]), randomInts('w', 'uint8', [1, 1, 3, 3], 1, 0, 255), tensor('ws', 'float32', [], [0.01]), tensor('wz', 'uint8', [], [0]), tensor('ys', 'float32', [], [0.25]), tensor('yz', 'uint8', [], [90])];
    const big = op(10, 'QLinearConv', ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz'], {}, [x], init, [{ name: 'y', type: 'uint8' }]);
    await expectEngineError(big, [x], /kernel extent 3 is larger than the padded input \(2\)/);
    const fb = op(10, 'QLinearConv', ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', 'b'], {}, [x], [...init, tensor('b', 'float32', [1], [1])], [{ name: 'y', type: 'uint8' }]);
    await expectEngineError(fb, [x], /unsupported data type float32 for input B of QLinearConv/);
    const out = await runEngine(op(10, 'ConvInteger', ['x', 'w'], { pads: { ints: [1, 1, 1, 1] } }, [x], [init[2]!], [{ name: 'y', type: 'int32' }]), [x]);
    assert.deepEqual(out[0]!.dims, [1, 1, 2, 2]);
  });
});
