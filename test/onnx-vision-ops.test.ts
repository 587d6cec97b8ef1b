// GridSample, RoiAlign, LRN and MeanVarianceNormalization in the sandboxed engine against
// onnxruntime-node: every mode, padding mode and coordinate convention, opset names, and
// refusals of bad attributes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeRequest, type Tensor } from '../src/sandbox/tensor-codec.js';
import { seededRandom } from '../src/smoke/seeded-random.js';
import { type AttrValue, checkAgainstNative, expectEngineError, newEnginePlugin, randomFloats, runEngine, singleOp, tensor, values } from './helpers/onnx-graph.js';

function gridSample(opset: number, attrs: Record<string, AttrValue>, xDims: number[], gridDims: number[], spread: number, seed: number) {
  const model = singleOp(opset, { op: 'GridSample', inputs: ['X', 'grid'], outputs: ['Y'], attrs }, [{ name: 'X', type: 'float32', dims: xDims }, { name: 'grid', type: 'float32', dims: gridDims }], [{ name: 'Y', type: 'float32' }]);
  // grid values beyond [-1, 1] exercise the padding modes; exact ±1 and 0 the edges
  const grid = randomFloats('grid', gridDims, seed, spread);
  const g = new Float32Array(Uint8Array.from(grid.data).buffer);
  g[0] = -1;
  g[1] = 1;
  g[2] = 0;
  g[3] = 1;
  return { model, inputs: [randomFloats('X', xDims, seed + 1, 2), { ...grid, data: new Uint8Array(g.buffer) }] };
}

describe('GridSample against onnxruntime', () => {
  test('opset 16: bilinear / nearest / bicubic x zeros / border / reflection x align_corners', async () => {
    let seed = 1;
    for (const mode of ['bilinear', 'nearest', 'bicubic']) {
      for (const padding of ['zeros', 'border', 'reflection']) {
        for (const align of [0, 1]) {
          for (const spread of [1, 3.5]) {
            const { model, inputs } = gridSample(16, { mode, padding_mode: padding, align_corners: align }, [2, 3, 5, 7], [2, 4, 6, 2], spread, seed++);
            await checkAgainstNative(model, inputs, `GridSample ${mode} ${padding} align=${align} spread=${spread}`, 1e-5, 1e-4);
          }
        }
      }
    }
  });

  test('opset 20 names: linear / nearest / cubic', async () => {
    let seed = 100;
    for (const mode of ['linear', 'nearest', 'cubic']) {
      const { model, inputs } = gridSample(20, { mode, padding_mode: 'border' }, [1, 2, 6, 4], [1, 3, 5, 2], 1.5, seed++);
      await checkAgainstNative(model, inputs, `GridSample-20 ${mode}`, 1e-5, 1e-4);
    }
  });

  test('opset 20 volumetric (5-D): linear and nearest x every padding mode x align_corners', async () => {
    let seed = 200;
    for (const mode of ['linear', 'nearest']) {
      for (const padding of ['zeros', 'border', 'reflection']) {
        for (const align of [0, 1]) {
          const { model, inputs } = gridSample(20, { mode, padding_mode: padding, align_corners: align }, [2, 2, 3, 4, 5], [2, 2, 3, 4, 3], 1.8, seed++);
          await checkAgainstNative(model, inputs, `GridSample-20 5-D ${mode} ${padding} align=${align}`, 1e-5, 1e-4);
        }
      }
    }
    const cubic = gridSample(20, { mode: 'cubic' }, [1, 1, 2, 3, 3], [1, 1, 2, 2, 3], 1, 1);
    await expectEngineError(cubic.model, cubic.inputs, /mode cubic needs 4-D input/);
  });

  test('refuses mode names of the other opset and bad shapes', async () => {
    const old = gridSample(16, { mode: 'linear' }, [1, 1, 3, 3], [1, 2, 2, 2], 1, 1);
    await expectEngineError(old.model, old.inputs, /mode has invalid value "linear" \(bilinear, nearest or bicubic in opset 16\)/);
    const newer = gridSample(20, { mode: 'bicubic' }, [1, 1, 3, 3], [1, 2, 2, 2], 1, 1);
    await expectEngineError(newer.model, newer.inputs, /mode has invalid value "bicubic" \(linear, nearest or cubic in opset 20\)/);
    const pad = gridSample(16, { padding_mode: 'wrap' }, [1, 1, 3, 3], [1, 2, 2, 2], 1, 1);
    await expectEngineError(pad.model, pad.inputs, /padding_mode has invalid value "wrap"/);
    const shape = gridSample(16, {}, [1, 1, 3, 3], [1, 2, 2, 3], 1, 1);
    await expectEngineError(shape.model, shape.inputs, /grid must have shape \[1, H_out, W_out, 2\]/);
  });
});

describe('RoiAlign against onnxruntime', () => {
  const roiAlign = (opset: number, attrs: Record<string, AttrValue>, rois: number[], batch: number[]) => {
    const x = randomFloats('X', [2, 3, 10, 12], 5, 3);
    const r = tensor('rois', 'float32', [rois.length / 4, 4], rois);
    const b = tensor('batch_indices', 'int64', [batch.length], batch);
    const model = singleOp(opset, { op: 'RoiAlign', inputs: ['X', 'rois', 'batch_indices'], outputs: ['Y'], attrs }, [x, r, b].map((t: Tensor) => ({ name: t.name, type: t.type, dims: t.dims })), [{ name: 'Y', type: 'float32' }]);
    return { model, inputs: [x, r, b] };
  };
  const ROIS = [0, 0, 9, 9, 1.5, 2.2, 7.3, 8.9, 3, 1, 3.4, 1.2, -2, -1, 4, 13, 8, 6, 14, 12];

  test('avg and max, sampling_ratio 0 and 2, spatial_scale, both coordinate modes (opsets 10, 16)', async () => {
    for (const opset of [10, 16]) {
      for (const mode of ['avg', 'max']) {
        for (const sampling of [0, 2]) {
          const coords = opset >= 16 ? ['half_pixel', 'output_half_pixel'] : [undefined];
          for (const coord of coords) {
            const attrs: Record<string, AttrValue> = { mode, sampling_ratio: sampling, output_height: 3, output_width: 4, spatial_scale: { float: 0.8 } };
            if (coord) attrs.coordinate_transformation_mode = coord;
            const { model, inputs } = roiAlign(opset, attrs, ROIS, [0, 1, 1, 0, 1]);
            await checkAgainstNative(model, inputs, `RoiAlign-${opset} ${mode} sampling=${sampling} ${coord ?? ''}`, 1e-5, 1e-4);
          }
        }
      }
    }
  });

  test('refuses bad batch indices and attributes', async () => {
    const bad = roiAlign(16, {}, [0, 0, 1, 1], [2]);
    await expectEngineError(bad.model, bad.inputs, /batch index 2 of roi 0 is out of range for batch size 2/);
    const mode = roiAlign(16, { mode: 'sum' }, [0, 0, 1, 1], [0]);
    await expectEngineError(mode.model, mode.inputs, /mode has invalid value "sum" \(avg or max\)/);
    const coord = roiAlign(16, { coordinate_transformation_mode: 'asymmetric' }, [0, 0, 1, 1], [0]);
    await expectEngineError(coord.model, coord.inputs, /coordinate_transformation_mode has invalid value "asymmetric"/);
  });
});

describe('LRN and MeanVarianceNormalization against onnxruntime', () => {
  test('LRN: odd and even sizes, alpha/beta/bias (onnxruntime runs 4-D only)', async () => {
    let seed = 1;
    for (const [size, dims] of [[3, [2, 5, 4, 3]], [1, [1, 3, 4, 1]], [5, [1, 6, 2, 4]], [9, [1, 4, 2, 2]]] as const) {
      const attrs: Record<string, AttrValue> = { size, alpha: { float: 0.002 }, beta: { float: 0.6 }, bias: { float: 2 } };
      const model = singleOp(13, { op: 'LRN', inputs: ['X'], outputs: ['Y'], attrs }, [{ name: 'X', type: 'float32', dims: [...dims] }], [{ name: 'Y', type: 'float32' }]);
      await checkAgainstNative(model, [randomFloats('X', dims, seed++, 4)], `LRN size ${size} ${dims}`);
    }
    // onnxruntime takes odd sizes only; an even one follows the spec's window (1 before, 2 after for 4)
    const even = singleOp(13, { op: 'LRN', inputs: ['X'], outputs: ['Y'], attrs: { size: 4, alpha: { float: 0.5 } } }, [{ name: 'X', type: 'float32', dims: [1, 5, 1, 1] }], [{ name: 'Y', type: 'float32' }]);
    const xs = [1, -2, 3, 0.5, 4];
    const want = xs.map((v, c) => {
      let sum = 0;
      for (let q = Math.max(0, c - 1); q <= Math.min(4, c + 2); q++) sum += xs[q]! ** 2;
      return v / (1 + (0.5 / 4) * sum) ** 0.75;
    });
    const got = values((await runEngine(even, [tensor('X', 'float32', [1, 5, 1, 1], xs)]))[0]!);
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-6, `LRN size 4 [${i}]: ${got[i]} vs ${want[i]}`);
    const noSize = singleOp(13, { op: 'LRN', inputs: ['X'], outputs: ['Y'] }, [{ name: 'X', type: 'float32', dims: [1, 2, 2, 2] }], [{ name: 'Y', type: 'float32' }]);
    await expectEngineError(noSize, [randomFloats('X', [1, 2, 2, 2], 1)], /attribute size is required/);
  });

  test('MeanVarianceNormalization: default axes, chosen axes, negative axes', async () => {
    let seed = 20;
    for (const axes of [undefined, [1], [0, 1], [2, 3], [-1], [0, 1, 2, 3]]) {
      const attrs: Record<string, AttrValue> = axes ? { axes: { ints: axes } } : {};
      const model = singleOp(13, { op: 'MeanVarianceNormalization', inputs: ['X'], outputs: ['Y'], attrs }, [{ name: 'X', type: 'float32', dims: [2, 3, 4, 5] }], [{ name: 'Y', type: 'float32' }]);
      await checkAgainstNative(model, [randomFloats('X', [2, 3, 4, 5], seed++, 3)], `MVN axes ${axes}`, 1e-4, 1e-4);
    }
    const twice = singleOp(13, { op: 'MeanVarianceNormalization', inputs: ['X'], outputs: ['Y'], attrs: { axes: { ints: [1, -2] } } }, [{ name: 'X', type: 'float32', dims: [2, 3, 4] }], [{ name: 'Y', type: 'float32' }]);
    await expectEngineError(twice, [randomFloats('X', [2, 3, 4], 1)], /axes has axis 1 twice/);
  });
});

describe('the new operators never trap', () => {
  // Random attribute values (including absurd ones) and inputs with NaN / infinities: every call
  // must either run or be refused with a plugin error, never trap the instance.
  const INTS = [-5, -1, 0, 1, 2, 3, 7, 1 << 20, 2 ** 40];
  const FLOATS = [Number.NaN, Number.POSITIVE_INFINITY, -1, 0, 1e-30, 0.5, 3, 1e30];
  const STRINGS: Record<string, string[]> = {
    mode: ['nearest', 'linear', 'cubic', 'bilinear', 'bicubic', 'avg', 'max', 'x'],
    coordinate_transformation_mode: ['half_pixel', 'align_corners', 'tf_crop_and_resize', 'asymmetric', 'output_half_pixel', 'y'],
    padding_mode: ['zeros', 'border', 'reflection', 'z'],
    auto_pad: ['NOTSET', 'SAME_UPPER', 'VALID', 'w'],
    nearest_mode: ['floor', 'ceil', 'round_prefer_ceil', 'v'],
    keep_aspect_ratio_policy: ['stretch', 'not_larger', 'u'],
  };
  interface Spec { op: string; opset: number; inputs: Tensor[]; init: Tensor[]; ints: string[]; floats: string[]; strings: string[]; intLists: Record<string, number> }
  const x4 = (seed: number) => randomFloats('X', [1, 2, 5, 6], seed, 3);
  const specs: Spec[] = [
    { op: 'Resize', opset: 19, inputs: [], init: [tensor('roi', 'float32', [8], [0, 0, -0.5, 0.2, 1, 1, 2, 0.9]), tensor('scales', 'float32', [4], [1, 1, 0.3, 2.5])], ints: ['exclude_outside', 'antialias'], floats: ['cubic_coeff_a', 'extrapolation_value'], strings: ['mode', 'coordinate_transformation_mode', 'nearest_mode', 'keep_aspect_ratio_policy'], intLists: { axes: 2 } },
    { op: 'ConvTranspose', opset: 11, inputs: [], init: [randomFloats('W', [2, 3, 3, 2], 1, 1)], ints: ['group'], floats: [], strings: ['auto_pad'], intLists: { strides: 2, pads: 4, dilations: 2, output_padding: 2, output_shape: 2 } },
    { op: 'GridSample', opset: 20, inputs: [randomFloats('grid', [1, 3, 4, 2], 9, 3)], init: [], ints: ['align_corners'], floats: [], strings: ['mode', 'padding_mode'], intLists: {} },
    { op: 'RoiAlign', opset: 16, inputs: [], init: [tensor('rois', 'float32', [2, 4], [0, 0, 4, 4, -1e9, 2, 1e9, 3]), tensor('bi', 'int64', [2], [0, 0])], ints: ['output_height', 'output_width', 'sampling_ratio'], floats: ['spatial_scale'], strings: ['mode', 'coordinate_transformation_mode'], intLists: {} },
    { op: 'LRN', opset: 13, inputs: [], init: [], ints: ['size'], floats: ['alpha', 'beta', 'bias'], strings: [], intLists: {} },
    { op: 'MeanVarianceNormalization', opset: 13, inputs: [], init: [], ints: [], floats: [], strings: [], intLists: { axes: 2 } },
    { op: 'QuantizeLinear', opset: 21, inputs: [], init: [tensor('s', 'float32', [2], [0.1, 0])], ints: ['axis', 'block_size', 'output_dtype', 'saturate'], floats: [], strings: [], intLists: {} },
  ];
  const nodeInputs: Record<string, string[]> = {
    Resize: ['X', 'roi', 'scales'], ConvTranspose: ['X', 'W'], GridSample: ['X', 'grid'], RoiAlign: ['X', 'rois', 'bi'],
    LRN: ['X'], MeanVarianceNormalization: ['X'], QuantizeLinear: ['X', 's'],
  };

  test('random attributes and non-finite inputs: run or refuse, never trap', async () => {
    const next = seededRandom(4242);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(next() * a.length)]!;
    let plugin = await newEnginePlugin();
    const outcomes = { ok: 0, refused: 0 };
    for (let i = 0; i < 280; i++) {
      const spec = specs[i % specs.length]!;
      const attrs: Record<string, AttrValue> = {};
      for (const a of spec.ints) if (next() < 0.6) attrs[a] = pick(INTS);
      for (const a of spec.floats) if (next() < 0.6) attrs[a] = { float: pick(FLOATS) };
      for (const a of spec.strings) if (next() < 0.7) attrs[a] = pick(STRINGS[a]!);
      for (const [a, n] of Object.entries(spec.intLists)) if (next() < 0.5) attrs[a] = { ints: Array.from({ length: next() < 0.8 ? n : n + 1 }, () => pick(INTS)) };
      const x = x4(i);
      const xv = new Float32Array(Uint8Array.from(x.data).buffer);
      if (next() < 0.3) xv[Math.floor(next() * xv.length)] = pick([Number.NaN, Number.POSITIVE_INFINITY, -1e38]);
      const inputs = [{ ...x, data: new Uint8Array(xv.buffer) }, ...spec.inputs];
      const model = singleOp(spec.opset, { op: spec.op, inputs: nodeInputs[spec.op]!, outputs: ['Y'], attrs }, inputs.map((t) => ({ name: t.name, type: t.type, dims: t.dims })), [{ name: 'Y', type: spec.op === 'QuantizeLinear' ? 'uint8' : 'float32' }], spec.init);
      try {
        await plugin.call('run', new Uint8Array(encodeRequest(model, inputs)));
        outcomes.ok++;
      } catch (err) {
        const message = (err as Error).message;
        if (!/^Plugin-originated error: (model error|unsupported|decode error)/.test(message)) {
          plugin = await newEnginePlugin();
          assert.fail(`${spec.op} ${JSON.stringify(attrs)}: ${message}`);
        }
        outcomes.refused++;
      }
      await plugin.reset();
    }
    assert.ok(outcomes.ok > 20 && outcomes.refused > 20, JSON.stringify(outcomes));
  });
});
