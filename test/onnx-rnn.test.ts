// RNN, GRU and LSTM in the sandboxed engine against onnxruntime-node: every direction and
// layout, every optional input and output, sequence lengths, activation lists with
// alpha/beta, clip, input_forget and linear_before_reset, and shape errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  FLOAT, INT32, INT64, assertClose, assertMatchesNative, attrFloat, attrFloats, attrInt, attrString, attrStrings, expectRejection, floatTensor, input, int32s,
  int64s, model, newPlugin, node, output, runEngine, runNative, type Bytes,
} from './helpers/onnx-models.js';
import type { Tensor } from '../src/sandbox/tensor-codec.js';

type Kind = 'RNN' | 'GRU' | 'LSTM';
const GATES: Record<Kind, number> = { RNN: 1, GRU: 3, LSTM: 4 };

interface Case {
  kind: Kind;
  direction?: 'forward' | 'reverse' | 'bidirectional';
  layout?: 0 | 1;
  seq?: number;
  batch?: number;
  inputSize?: number;
  hidden?: number;
  /** which optional inputs are given */
  bias?: boolean;
  lens?: number[];
  initialH?: boolean;
  initialC?: boolean;
  peepholes?: boolean;
  /** which outputs are asked for: Y, Y_h, Y_c */
  outputs?: [boolean, boolean, boolean?];
  attrs?: Bytes[];
  opset?: number;
}

function build(c: Case): { bytes: Uint8Array; inputs: Tensor[] } {
  const D = c.direction === 'bidirectional' ? 2 : 1;
  const seq = c.seq ?? 5;
  const batch = c.batch ?? 3;
  const I = c.inputSize ?? 4;
  const H = c.hidden ?? 6;
  const G = GATES[c.kind];
  const layout = c.layout ?? 0;
  const lstm = c.kind === 'LSTM';
  const names: string[] = [];
  const parts: Bytes[] = [];
  const inputs: Tensor[] = [];
  let seed = 10;
  const add = (name: string, dims: number[], given: boolean, scale = 0.8): void => {
    if (!given) {
      names.push('');
      return;
    }
    names.push(name);
    parts.push(input(name, name === 'lens' ? INT32 : FLOAT, dims));
    inputs.push(name === 'lens' ? int32s(name, dims, c.lens!) : floatTensor(name, dims, seed++, scale));
  };
  const stateDims = layout === 0 ? [D, batch, H] : [batch, D, H];
  add('X', layout === 0 ? [seq, batch, I] : [batch, seq, I], true, 1.5);
  add('W', [D, G * H, I], true);
  add('R', [D, G * H, H], true);
  add('B', [D, 2 * G * H], c.bias ?? false);
  add('lens', [batch], c.lens !== undefined);
  add('h0', stateDims, c.initialH ?? false);
  if (lstm) {
    add('c0', stateDims, c.initialC ?? false);
    add('P', [D, 3 * H], c.peepholes ?? false);
  }
  while (names.length > 3 && names[names.length - 1] === '') names.pop();
  const wanted = c.outputs ?? [true, true, true];
  const outs = ['Y', 'Y_h', ...(lstm ? ['Y_c'] : [])].map((n, i) => (wanted[i] ? n : ''));
  while (outs[outs.length - 1] === '') outs.pop();
  const attrs = [attrInt('hidden_size', H), ...(c.direction ? [attrString('direction', c.direction)] : []), ...(layout ? [attrInt('layout', 1)] : []), ...(c.attrs ?? [])];
  const bytes = model(c.opset ?? 14, [
    node(c.kind, 'rec', names, outs, ...attrs),
    ...parts,
    ...outs.filter((o) => o !== '').map((o) => output(o, FLOAT)),
  ]);
  return { bytes, inputs };
}

/** Swaps the first two axes of a float tensor. */
function swap01(t: Tensor): Tensor {
  const [a, b, ...rest] = t.dims as [number, number, ...number[]];
  const inner = rest.reduce((x, y) => x * y, 1);
  const src = new Float32Array(Uint8Array.from(t.data).buffer);
  const dst = new Float32Array(src.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) dst.set(src.subarray((i * b + j) * inner, (i * b + j + 1) * inner), (j * a + i) * inner);
  return { ...t, dims: [b, a, ...rest], data: new Uint8Array(dst.buffer) };
}

/** Y [seq, D, batch, H] (layout 0) as [batch, seq, D, H] (layout 1). */
function yToBatchFirst(t: Tensor): Tensor {
  const [s, d, b, h] = t.dims as [number, number, number, number];
  const src = new Float32Array(Uint8Array.from(t.data).buffer);
  const dst = new Float32Array(src.length);
  for (let i = 0; i < s; i++) for (let j = 0; j < d; j++) for (let k = 0; k < b; k++) dst.set(src.subarray(((i * d + j) * b + k) * h, ((i * d + j) * b + k + 1) * h), ((k * s + i) * d + j) * h);
  return { ...t, dims: [b, s, d, h], data: new Uint8Array(dst.buffer) };
}

/**
 * Engine against onnxruntime. onnxruntime refuses layout 1 ("batchwise recurrent operations
 * are not supported"), so a layout-1 case is compared with onnxruntime's layout-0 run of the
 * same data, its inputs and outputs transposed.
 */
async function check(c: Case): Promise<Tensor[]> {
  const { bytes, inputs } = build(c);
  const plugin = await newPlugin();
  if ((c.layout ?? 0) === 0) return assertMatchesNative(plugin, bytes, inputs, 2e-5, 1e-4);
  const got = await runEngine(plugin, bytes, inputs);
  const flat = build({ ...c, layout: 0 });
  const batchFirst = new Set(['X', 'h0', 'c0']);
  const want = await runNative(flat.bytes, inputs.map((t) => (batchFirst.has(t.name) ? swap01(t) : t)));
  assertClose(got, want.map((t) => (t.name === 'Y' ? yToBatchFirst(t) : swap01(t))), 2e-5, 1e-4);
  return got;
}

describe('onnx-engine recurrent layers', () => {
  for (const kind of ['RNN', 'GRU', 'LSTM'] as const) {
    test(`${kind}: forward, reverse and bidirectional, layout 0 and 1, with every optional input`, async () => {
      for (const direction of ['forward', 'reverse', 'bidirectional'] as const) {
        for (const layout of [0, 1] as const) {
          const got = await check({ kind, direction, layout, bias: true, lens: [5, 2, 4], initialH: true, initialC: true, peepholes: true });
          const D = direction === 'bidirectional' ? 2 : 1;
          assert.deepEqual(got[0]!.dims, layout === 0 ? [5, D, 3, 6] : [3, 5, D, 6], `${direction} layout ${layout}`);
        }
      }
    });

    test(`${kind}: only the required inputs; each output alone; a zero sequence length`, async () => {
      await check({ kind, direction: 'bidirectional' });
      await check({ kind, outputs: [true, false, false] });
      await check({ kind, outputs: [false, true, false] });
      if (kind === 'LSTM') await check({ kind, direction: 'reverse', outputs: [false, false, true], initialC: true });
      await check({ kind, direction: 'bidirectional', lens: [0, 5, 1], bias: true, initialH: true });
      // batch 6 and one time step, input larger than hidden
      await check({ kind, batch: 6, seq: 1, inputSize: 20, hidden: 3, bias: true });
      // opset 7 (before layout)
      await check({ kind, opset: 7, direction: 'reverse', bias: true, initialH: true });
    });
  }

  test('activation lists with alpha and beta, defaults where a list runs out, and clip', async () => {
    await check({ kind: 'RNN', direction: 'bidirectional', bias: true, attrs: [attrStrings('activations', ['LeakyRelu', 'ScaledTanh']), attrFloats('activation_alpha', [0.2, 0.7]), attrFloats('activation_beta', [1.3])] });
    await check({ kind: 'RNN', attrs: [attrStrings('activations', ['Affine']), attrFloats('activation_alpha', [0.5]), attrFloats('activation_beta', [0.1])] });
    for (const acts of [['HardSigmoid', 'Elu'], ['Sigmoid', 'Softsign'], ['Sigmoid', 'Softplus'], ['Sigmoid', 'Relu'], ['Sigmoid', 'ThresholdedRelu']]) {
      await check({ kind: 'GRU', bias: true, attrs: [attrStrings('activations', acts)] });
    }
    await check({ kind: 'GRU', bias: true, attrs: [attrStrings('activations', ['HardSigmoid', 'LeakyRelu']), attrFloats('activation_alpha', [0.3, 0.05]), attrFloats('activation_beta', [0.4])] });
    await check({ kind: 'LSTM', direction: 'bidirectional', bias: true, attrs: [attrStrings('activations', ['Sigmoid', 'Tanh', 'Tanh', 'HardSigmoid', 'Softsign', 'Elu']), attrFloats('activation_alpha', [0.25, 0.8])] });
    for (const kind of ['RNN', 'GRU', 'LSTM'] as const) await check({ kind, bias: true, initialH: true, attrs: [attrFloat('clip', 0.3)] });
  });

  test('LSTM input_forget (with peepholes) and GRU linear_before_reset', async () => {
    await check({ kind: 'LSTM', bias: true, peepholes: true, initialC: true, attrs: [attrInt('input_forget', 1)] });
    await check({ kind: 'LSTM', direction: 'bidirectional', attrs: [attrInt('input_forget', 1)] });
    for (const direction of ['forward', 'bidirectional'] as const) {
      await check({ kind: 'GRU', direction, bias: true, initialH: true, lens: [3, 5, 1], attrs: [attrInt('linear_before_reset', 1)] });
    }
  });

  test('ReverseSequence on either axis order, float32 and int64, against onnxruntime', async () => {
    const plugin = await newPlugin();
    for (const [timeAxis, dims] of [[0, [4, 3, 2]], [1, [3, 4, 2]]] as const) {
      for (const elem of [FLOAT, INT64]) {
        const bytes = model(10, [
          node('ReverseSequence', 'rev', ['x', 'lens'], ['y'], attrInt('time_axis', timeAxis), attrInt('batch_axis', 1 - timeAxis)),
          input('x', elem, [...dims]), input('lens', INT64, [3]), output('y', elem),
        ]);
        const n = dims.reduce((a, b) => a * b, 1);
        const x = elem === FLOAT ? floatTensor('x', [...dims], 3) : int64s('x', [...dims], Array.from({ length: n }, (_, i) => i * 7 - 5));
        await assertMatchesNative(plugin, bytes, [x, int64s('lens', [3], [4, 1, 0])], 0, 0);
      }
    }
  });

  test('wrong shapes and attributes are model errors naming the node', async () => {
    const plugin = await newPlugin();
    const { bytes, inputs } = build({ kind: 'LSTM', bias: true });
    const bad = inputs.map((t) => (t.name === 'B' ? floatTensor('B', [1, 10], 1) : t));
    // the declared input shape catches it first; drop the declaration to reach the operator's check
    const undeclared = build({ kind: 'LSTM', bias: true });
    await expectRejection(plugin, bytes, bad, /model error: input B has shape \[1,10\]/);
    const loose = model(14, [
      node('LSTM', 'lstm0', ['X', 'W', 'R', 'B'], ['Y'], attrInt('hidden_size', 6)),
      input('X', FLOAT), input('W', FLOAT), input('R', FLOAT), input('B', FLOAT), output('Y', FLOAT),
    ]);
    const given = undeclared.inputs.slice(0, 4).map((t) => (t.name === 'B' ? floatTensor('B', [1, 10], 1) : t));
    await expectRejection(plugin, loose, given, /model error: LSTM \(node "lstm0"\): B has shape \[1,10\], expected \[1,48\]/);
    const wrongHidden = model(14, [node('GRU', 'gru0', ['X', 'W', 'R'], ['Y'], attrInt('hidden_size', 5)), input('X', FLOAT), input('W', FLOAT), input('R', FLOAT), output('Y', FLOAT)]);
    const g = build({ kind: 'GRU' }).inputs.slice(0, 3);
    await expectRejection(plugin, wrongHidden, g, /model error: GRU \(node "gru0"\): hidden_size is 5 but W has 18 rows \(3 gates\)/);
    const badDirection = model(14, [node('RNN', 'rnn0', ['X', 'W', 'R'], ['Y'], attrString('direction', 'sideways')), input('X', FLOAT), input('W', FLOAT), input('R', FLOAT), output('Y', FLOAT)]);
    await expectRejection(plugin, badDirection, build({ kind: 'RNN' }).inputs.slice(0, 3), /model error: RNN \(node "rnn0"\): direction must be forward, reverse or bidirectional, is sideways/);
    const badAct = model(14, [node('RNN', 'rnn1', ['X', 'W', 'R'], ['Y'], attrStrings('activations', ['Swish'])), input('X', FLOAT), input('W', FLOAT), input('R', FLOAT), output('Y', FLOAT)]);
    await expectRejection(plugin, badAct, build({ kind: 'RNN' }).inputs.slice(0, 3), /unsupported attribute value activations=Swish for RNN \(node "rnn1"\)/);
  });
});
