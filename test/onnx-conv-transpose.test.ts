// ConvTranspose in the sandboxed engine against onnxruntime-node: 1-D, 2-D and 3-D, pads,
// auto_pad (odd total padding), output_padding, output_shape, strides, dilations, group, bias,
// and refusals of inconsistent attributes.
import { describe, test } from 'node:test';
import { type AttrValue, checkAgainstNative, expectEngineError, randomFloats, singleOp } from './helpers/onnx-graph.js';

function convTranspose(xDims: number[], wDims: number[], attrs: Record<string, AttrValue>, bias: boolean, seed: number) {
  const m = wDims[1]! * (typeof attrs.group === 'number' ? attrs.group : 1);
  const init = [randomFloats('W', wDims, seed + 1, 1)];
  if (bias) init.push(randomFloats('B', [m], seed + 2, 1));
  const model = singleOp(11, { op: 'ConvTranspose', inputs: bias ? ['X', 'W', 'B'] : ['X', 'W'], outputs: ['Y'], attrs }, [{ name: 'X', type: 'float32', dims: xDims }], [{ name: 'Y', type: 'float32' }], init);
  return { model, inputs: [randomFloats('X', xDims, seed, 1)] };
}

describe('ConvTranspose against onnxruntime', () => {
  test('2-D: strides, pads, dilations, output_padding, group, bias', async () => {
    const cases: Array<[number[], number[], Record<string, AttrValue>]> = [
      [[1, 3, 5, 4], [3, 2, 3, 3], {}],
      [[2, 3, 5, 4], [3, 4, 3, 2], { strides: { ints: [2, 3] } }],
      [[1, 3, 5, 4], [3, 2, 3, 3], { strides: { ints: [2, 2] }, pads: { ints: [1, 0, 2, 1] } }],
      [[1, 3, 5, 4], [3, 2, 2, 3], { strides: { ints: [3, 2] }, output_padding: { ints: [2, 1] } }],
      [[1, 2, 4, 4], [2, 3, 3, 3], { dilations: { ints: [2, 3] }, pads: { ints: [1, 1, 1, 1] } }],
      [[1, 4, 5, 3], [4, 3, 3, 3], { group: 2, strides: { ints: [2, 1] } }],
      [[1, 6, 3, 3], [6, 1, 4, 4], { group: 6, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } }],
      [[1, 16, 8, 8], [16, 8, 4, 4], { strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } }],
    ];
    let seed = 1;
    for (const [xd, wd, attrs] of cases) {
      for (const bias of [false, true]) {
        const { model, inputs } = convTranspose(xd, wd, attrs, bias, seed++);
        await checkAgainstNative(model, inputs, `ConvTranspose ${xd} ${wd} ${JSON.stringify(attrs)} bias=${bias}`, 1e-4, 1e-4);
      }
    }
  });

  test('auto_pad SAME_UPPER / SAME_LOWER / VALID and output_shape, with odd total padding', async () => {
    let seed = 40;
    for (const autoPad of ['SAME_UPPER', 'SAME_LOWER', 'VALID']) {
      for (const strides of [[1, 1], [2, 2], [3, 2]]) {
        const { model, inputs } = convTranspose([1, 2, 4, 5], [2, 3, 3, 4], { auto_pad: autoPad, strides: { ints: strides } }, true, seed++);
        await checkAgainstNative(model, inputs, `ConvTranspose auto_pad ${autoPad} strides ${strides}`, 1e-4, 1e-4);
      }
    }
    for (const [outputShape, autoPad] of [[[9, 10], 'NOTSET'], [[8, 11], 'NOTSET'], [[10, 9], 'SAME_UPPER'], [[10, 9], 'SAME_LOWER'], [[10, 12], 'NOTSET']] as const) {
      const { model, inputs } = convTranspose([1, 2, 4, 5], [2, 3, 3, 3], { output_shape: { ints: outputShape }, strides: { ints: [2, 2] }, auto_pad: autoPad }, false, seed++);
      await checkAgainstNative(model, inputs, `ConvTranspose output_shape ${outputShape} ${autoPad}`, 1e-4, 1e-4);
    }
  });

  test('1-D and 3-D', async () => {
    const one = convTranspose([2, 3, 7], [3, 2, 3], { strides: { ints: [2] }, pads: { ints: [1, 2] }, output_padding: { ints: [1] } }, true, 70);
    await checkAgainstNative(one.model, one.inputs, 'ConvTranspose 1-D', 1e-4, 1e-4);
    const three = convTranspose([1, 2, 3, 4, 3], [2, 2, 2, 3, 2], { strides: { ints: [2, 1, 2] }, pads: { ints: [0, 1, 0, 1, 0, 1] }, dilations: { ints: [1, 2, 1] } }, true, 71);
    await checkAgainstNative(three.model, three.inputs, 'ConvTranspose 3-D', 1e-4, 1e-4);
  });

  test('refuses inconsistent attributes and shapes', async () => {
    const pad = convTranspose([1, 2, 4, 4], [2, 2, 3, 3], { strides: { ints: [2, 2] }, output_padding: { ints: [2, 0] } }, false, 1);
    await expectEngineError(pad.model, pad.inputs, /output_padding 2 must be less than max\(stride, dilation\) = 2/);
    const shape = convTranspose([1, 2, 4, 4], [2, 2, 3, 3], { output_shape: { ints: [1, 2, 3] } }, false, 1);
    await expectEngineError(shape.model, shape.inputs, /output_shape has 3 values, expected 2 \(one per spatial dimension\)/);
    const big = convTranspose([1, 2, 4, 5], [2, 3, 3, 3], { output_shape: { ints: [13, 14] }, strides: { ints: [2, 2] } }, false, 1);
    await expectEngineError(big.model, big.inputs, /output_shape 13 is inconsistent with input size 4 in spatial dimension 0 \(at most 10\)/);
    const channels = convTranspose([1, 3, 4, 4], [2, 2, 3, 3], {}, false, 1);
    await expectEngineError(channels.model, channels.inputs, /W shape \[2,2,3,3\] needs 3 input channels first/);
    const strides = convTranspose([1, 2, 4, 4], [2, 2, 3, 3], { strides: { ints: [0, 1] } }, false, 1);
    await expectEngineError(strides.model, strides.inputs, /attribute strides has invalid value 0/);
    const crop = convTranspose([1, 2, 2, 2], [2, 2, 1, 1], { pads: { ints: [1, 1, 1, 1] } }, false, 1);
    await expectEngineError(crop.model, crop.inputs, /computed output size 0 is invalid/);
  });
});
