// Resize and Upsample in the sandboxed engine against onnxruntime-node: every mode, coordinate
// transformation and nearest mode, scales or sizes, axes and keep_aspect_ratio_policy, roi with
// extrapolation, the opset differences, other element types, and refusals of bad attributes.
import { describe, test } from 'node:test';
import type { Tensor, TensorType } from '../src/sandbox/tensor-codec.js';
import { type AttrValue, checkAgainstNative, expectEngineError, randomFloats, randomInts, singleOp, tensor } from './helpers/onnx-graph.js';

interface Case {
  readonly opset: number;
  readonly attrs: Record<string, AttrValue>;
  readonly dims: readonly number[];
  readonly scales?: readonly number[];
  readonly sizes?: readonly number[];
  readonly roi?: readonly number[];
  readonly type?: TensorType;
}

function resizeModel(c: Case): { model: Uint8Array; inputs: Tensor[] } {
  const type = c.type ?? 'float32';
  const init: Tensor[] = [];
  const names = ['X'];
  if (c.opset >= 11) {
    // roi is a required input before opset 13 (empty when unused)
    if (c.roi || c.opset < 13) init.push(tensor('roi', 'float32', [c.roi?.length ?? 0], c.roi ?? []));
    names.push(c.roi || c.opset < 13 ? 'roi' : '');
  }
  if (c.scales) init.push(tensor('scales', 'float32', [c.scales.length], c.scales));
  names.push(c.scales ? 'scales' : c.opset < 13 ? 'scales' : '');
  if (!c.scales && c.opset < 13) init.push(tensor('scales', 'float32', [0], []));
  if (c.sizes) {
    init.push(tensor('sizes', 'int64', [c.sizes.length], c.sizes));
    names.push('sizes');
  }
  while (names.length > 1 && names[names.length - 1] === '') names.pop();
  const model = singleOp(c.opset, { op: 'Resize', inputs: names, outputs: ['Y'], attrs: c.attrs }, [{ name: 'X', type, dims: c.dims }], [{ name: 'Y', type }], init);
  const n = c.dims.reduce((a, b) => a * b, 1);
  const x = type === 'float32' ? randomFloats('X', c.dims, n + c.dims.length, 3) : randomInts('X', type, c.dims, n, 0, 100);
  return { model, inputs: [x] };
}

async function check(label: string, c: Case): Promise<void> {
  const { model, inputs } = resizeModel(c);
  await checkAgainstNative(model, inputs, label, 1e-5, 1e-5);
}

const COORDS = ['half_pixel', 'asymmetric', 'pytorch_half_pixel', 'align_corners', 'tf_half_pixel_for_nn'];
const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];
const SHAPES: ReadonlyArray<{ scales?: number[]; sizes?: number[] }> = [
  { scales: [1, 1, 2, 3] },
  { scales: [1, 1, 1.7, 0.6] },
  { scales: [1, 1, 0.5, 0.34] },
  { sizes: [1, 2, 7, 3] },
  { sizes: [1, 2, 1, 9] },
];

describe('Resize against onnxruntime', () => {
  test('nearest: every coordinate transformation x nearest mode, scales and sizes (opset 13)', async () => {
    for (const coord of COORDS) {
      for (const nearest of NEAREST_MODES) {
        for (const s of SHAPES) {
          await check(`nearest ${coord} ${nearest} ${JSON.stringify(s)}`, { opset: 13, dims: [1, 2, 5, 6], attrs: { mode: 'nearest', coordinate_transformation_mode: coord, nearest_mode: nearest }, ...s });
        }
      }
    }
  });

  test('linear (bilinear 4-D, 2-D; trilinear 5-D, 3-D): every coordinate transformation', async () => {
    for (const coord of COORDS.filter((c) => c !== 'tf_half_pixel_for_nn')) {
      for (const s of SHAPES) await check(`linear 4-D ${coord} ${JSON.stringify(s)}`, { opset: 13, dims: [1, 2, 5, 6], attrs: { mode: 'linear', coordinate_transformation_mode: coord }, ...s });
      await check(`linear 2-D ${coord}`, { opset: 13, dims: [5, 6], attrs: { mode: 'linear', coordinate_transformation_mode: coord }, scales: [1.5, 0.7] });
      await check(`linear 5-D ${coord}`, { opset: 13, dims: [1, 2, 3, 4, 5], attrs: { mode: 'linear', coordinate_transformation_mode: coord }, scales: [1, 1, 2, 0.75, 1.4] });
      await check(`linear 3-D ${coord}`, { opset: 13, dims: [3, 4, 5], attrs: { mode: 'linear', coordinate_transformation_mode: coord }, sizes: [5, 2, 8] });
    }
  });

  test('cubic: coordinate transformations, cubic_coeff_a, exclude_outside', async () => {
    for (const coord of COORDS.filter((c) => c !== 'tf_half_pixel_for_nn')) {
      for (const a of [-0.75, -0.5]) {
        for (const exclude of [0, 1]) {
          for (const s of SHAPES) {
            await check(`cubic ${coord} a=${a} exclude=${exclude} ${JSON.stringify(s)}`, { opset: 13, dims: [1, 2, 5, 6], attrs: { mode: 'cubic', coordinate_transformation_mode: coord, cubic_coeff_a: { float: a }, exclude_outside: exclude }, ...s });
          }
        }
      }
    }
    await check('cubic 2-D', { opset: 11, dims: [6, 7], attrs: { mode: 'cubic' }, scales: [1.3, 2] });
  });

  test('tf_crop_and_resize: roi and extrapolation_value in every mode', async () => {
    const roi = [0, 0, -0.2, 0.3, 1, 1, 0.6, 1.4];
    for (const mode of ['nearest', 'linear', 'cubic']) {
      for (const s of [{ scales: [1, 1, 1.5, 2] }, { sizes: [1, 2, 4, 1] }, { sizes: [1, 2, 1, 5] }]) {
        await check(`tf_crop_and_resize ${mode} ${JSON.stringify(s)}`, { opset: 13, dims: [1, 2, 5, 6], roi, attrs: { mode, coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: { float: -7.5 } }, ...s });
      }
    }
  });

  test('opset 18/19: axes, keep_aspect_ratio_policy, half_pixel_symmetric', async () => {
    for (const policy of ['stretch', 'not_larger', 'not_smaller']) {
      // without axes the policy scales N and C too, which onnxruntime allows for nearest only
      await check(`policy ${policy} nearest`, { opset: 18, dims: [1, 2, 5, 6], attrs: { mode: 'nearest', keep_aspect_ratio_policy: policy }, sizes: [1, 2, 8, 7] });
      for (const mode of ['nearest', 'linear']) {
        await check(`axes policy ${policy} ${mode}`, { opset: 18, dims: [1, 2, 5, 6], attrs: { mode, keep_aspect_ratio_policy: policy, axes: { ints: [2, 3] } }, sizes: [9, 4] });
      }
    }
    await check('axes with scales', { opset: 18, dims: [1, 2, 5, 6], attrs: { mode: 'linear', axes: { ints: [-1, 2] } }, scales: [1.5, 0.6] });
    await check('axes with roi', { opset: 18, dims: [1, 2, 5, 6], roi: [0.1, 0.2, 0.9, 0.7], attrs: { mode: 'linear', axes: { ints: [2, 3] }, coordinate_transformation_mode: 'tf_crop_and_resize' }, sizes: [4, 7] });
    for (const mode of ['nearest', 'linear', 'cubic']) {
      for (const s of SHAPES) await check(`half_pixel_symmetric ${mode} ${JSON.stringify(s)}`, { opset: 19, dims: [1, 2, 5, 6], attrs: { mode, coordinate_transformation_mode: 'half_pixel_symmetric' }, ...s });
    }
  });

  test('antialias (opset 18): linear and cubic, down and up, exclude_outside, cubic_coeff_a', async () => {
    const shapes: ReadonlyArray<{ scales?: number[]; sizes?: number[] }> = [{ scales: [1, 1, 0.5, 0.34] }, { sizes: [1, 2, 3, 4] }, { sizes: [1, 2, 11, 2] }, { scales: [1, 1, 1.5, 0.8] }];
    for (const mode of ['linear', 'cubic']) {
      for (const exclude of [0, 1]) {
        for (const coord of ['half_pixel', 'align_corners', 'asymmetric', 'pytorch_half_pixel']) {
          for (const s of shapes) {
            const attrs: Record<string, AttrValue> = { mode, antialias: 1, exclude_outside: exclude, coordinate_transformation_mode: coord };
            if (mode === 'cubic') attrs.cubic_coeff_a = { float: -0.5 };
            await check(`antialias ${mode} exclude=${exclude} ${coord} ${JSON.stringify(s)}`, { opset: 18, dims: [1, 2, 9, 10], attrs, ...s });
          }
        }
      }
    }
    await check('antialias tf_crop_and_resize', { opset: 18, dims: [1, 2, 9, 10], roi: [0, 0, 0.1, -0.2, 1, 1, 0.9, 1.1], attrs: { mode: 'linear', antialias: 1, coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: { float: 3 } }, sizes: [1, 2, 4, 5] });
  });

  test('opset 10 (asymmetric, truncating nearest) and opset 11 with empty scales', async () => {
    for (const mode of ['nearest', 'linear']) {
      for (const scales of [[1, 1, 2, 3], [1, 1, 0.6, 0.5], [1, 1, 1.5, 2.5]]) {
        await check(`opset 10 ${mode} ${scales}`, { opset: 10, dims: [1, 2, 5, 6], attrs: { mode }, scales });
      }
    }
    await check('opset 11 sizes', { opset: 11, dims: [1, 2, 5, 6], attrs: { mode: 'nearest' }, sizes: [1, 2, 3, 11] });
  });

  test('nearest on int32, uint8 and int8 data', async () => {
    for (const type of ['int32', 'uint8', 'int8'] as const) {
      await check(`nearest ${type}`, { opset: 13, type, dims: [1, 3, 4, 5], attrs: { mode: 'nearest' }, scales: [1, 1, 2.5, 0.5] });
    }
  });

  test('the same shape copies; a larger model-sized bilinear x2 upsample', async () => {
    await check('no-op sizes', { opset: 13, dims: [1, 2, 5, 6], attrs: { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize' }, roi: [0, 0, 0.2, 0.2, 1, 1, 0.8, 0.8], sizes: [1, 2, 5, 6] });
    await check('bilinear x2', { opset: 13, dims: [2, 16, 40, 40], attrs: { mode: 'linear' }, scales: [1, 1, 2, 2] });
    await check('nearest x2', { opset: 13, dims: [2, 16, 40, 40], attrs: { mode: 'nearest', nearest_mode: 'floor', coordinate_transformation_mode: 'asymmetric' }, scales: [1, 1, 2, 2] });
  });

  test('refuses bad attributes and inputs with a model error', async () => {
    const bad = async (c: Case, pattern: RegExp) => {
      const { model, inputs } = resizeModel(c);
      await expectEngineError(model, inputs, pattern);
    };
    const dims = [1, 1, 4, 4];
    await bad({ opset: 13, dims, attrs: { mode: 'bogus' }, scales: [1, 1, 2, 2] }, /model error: Resize \(node "resize0"\): attribute mode has invalid value "bogus"/);
    await bad({ opset: 13, dims, attrs: { coordinate_transformation_mode: 'sideways' }, scales: [1, 1, 2, 2] }, /coordinate_transformation_mode has invalid value "sideways"/);
    await bad({ opset: 13, dims, attrs: { nearest_mode: 'up' }, scales: [1, 1, 2, 2] }, /nearest_mode has invalid value "up"/);
    await bad({ opset: 13, dims, attrs: { mode: 'linear', exclude_outside: 1 }, scales: [1, 1, 2, 2] }, /exclude_outside=1 needs mode cubic/);
    await bad({ opset: 13, dims, attrs: {}, scales: [1, 1, 2, 2], sizes: [1, 1, 8, 8] }, /only one of scales and sizes/);
    await bad({ opset: 13, dims, attrs: {} }, /one of scales and sizes must be given/);
    await bad({ opset: 13, dims, attrs: {}, scales: [1, 1, 0, 2] }, /scales has invalid value 0/);
    await bad({ opset: 13, dims, attrs: {}, scales: [2, 2] }, /scales has 2 values, expected 4/);
    await bad({ opset: 18, dims, attrs: { axes: { ints: [2, 2] } }, sizes: [3, 3] }, /axes has axis 2 twice/);
    await bad({ opset: 18, dims, attrs: { axes: { ints: [4] } }, sizes: [3] }, /axes value 4 is out of range for rank 4/);
    await bad({ opset: 18, dims, attrs: { keep_aspect_ratio_policy: 'fit' }, sizes: [1, 1, 3, 3] }, /keep_aspect_ratio_policy has invalid value "fit"/);
    await bad({ opset: 18, dims, attrs: { mode: 'nearest', antialias: 1 }, sizes: [1, 1, 3, 3] }, /antialias needs mode linear or cubic/);
    await bad({ opset: 18, dims, attrs: { coordinate_transformation_mode: 'half_pixel_symmetric' }, sizes: [1, 1, 3, 3] }, /half_pixel_symmetric needs opset 19/);
    await bad({ opset: 13, dims, attrs: { coordinate_transformation_mode: 'tf_crop_and_resize' }, sizes: [1, 1, 3, 3] }, /tf_crop_and_resize needs the roi input/);
    await bad({ opset: 10, dims, attrs: { mode: 'cubic' }, scales: [1, 1, 2, 2] }, /mode has invalid value "cubic" \(nearest, linear\)/);
    await bad({ opset: 13, dims, type: 'int64', attrs: { mode: 'linear' }, scales: [1, 1, 2, 2] }, /unsupported data type int64 for input X of Resize/);
  });
});

describe('Upsample against onnxruntime', () => {
  const upsample = (opset: number, mode: string, scales: number[]) => {
    const dims = [1, 2, 3, 4];
    const init = opset >= 9 ? [tensor('scales', 'float32', [scales.length], scales)] : [];
    const attrs: Record<string, AttrValue> = { mode };
    if (opset < 9) attrs.scales = { floats: scales };
    const model = singleOp(opset, { op: 'Upsample', inputs: opset >= 9 ? ['X', 'scales'] : ['X'], outputs: ['Y'], attrs }, [{ name: 'X', type: 'float32', dims }], [{ name: 'Y', type: 'float32' }], init);
    return { model, inputs: [randomFloats('X', dims, opset + scales[2]!, 2)] };
  };

  test('opsets 7 and 9, nearest and linear, integer and fractional scales', async () => {
    for (const opset of [7, 9]) {
      for (const mode of ['nearest', 'linear']) {
        for (const scales of [[1, 1, 2, 2], [1, 1, 1.5, 2.7], [1, 1, 3, 1]]) {
          const { model, inputs } = upsample(opset, mode, scales);
          await checkAgainstNative(model, inputs, `Upsample-${opset} ${mode} ${scales}`);
        }
      }
    }
  });

  test('refuses scales below 1 and Upsample after opset 9', async () => {
    const low = upsample(9, 'nearest', [1, 1, 0.5, 2]);
    await expectEngineError(low.model, low.inputs, /scales has invalid value 0\.5 \(Upsample needs scales >= 1\)/);
    const removed = upsample(9, 'nearest', [1, 1, 2, 2]);
    const late = singleOp(10, { op: 'Upsample', inputs: ['X', 'scales'], outputs: ['Y'], attrs: { mode: 'nearest' } }, [{ name: 'X', type: 'float32', dims: [1, 2, 3, 4] }], [{ name: 'Y', type: 'float32' }], [tensor('scales', 'float32', [4], [1, 1, 2, 2])]);
    await expectEngineError(late, removed.inputs, /Upsample was removed in opset 10/);
  });
});
