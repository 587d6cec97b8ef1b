// Sequence and optional values inside the sandboxed engine, against onnxruntime-node: the
// sequence operators, a Loop that accumulates a sequence, SequenceMap over a subgraph, and
// optionals; sequences reaching a tensor-only operator are refused by name.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BOOL, FLOAT, INT64, assertMatchesNative, attrGraph, attrInt, attrInts, constant, expectRejection, floatTensor, input, int64s, model, newPlugin,
  node, output, pbInt, pbMsg, pbStr, type Bytes,
} from './helpers/onnx-models.js';
import { runOnnxValuesInSandbox } from '../src/sandbox/onnx-engine.js';
import { TensorCodecError } from '../src/sandbox/tensor-codec.js';
import { decodeValuesResponse, type SequenceValue, type Value } from '../src/sandbox/value-codec.js';

/** ValueInfoProto of a sequence of float tensors. */
function seqValue(field: number, name: string, elemType = FLOAT): Bytes {
  return pbMsg(field, pbStr(1, name), pbMsg(2, pbMsg(4, pbMsg(1, pbMsg(1, pbInt(1, elemType))))));
}

describe('onnx-engine sequences and optionals', () => {
  test('SplitToSequence, SequenceInsert/At/Erase/Length and ConcatFromSequence match onnxruntime', async () => {
    const bytes = model(17, [
      constant('split', INT64, [3], [1, 2, 3]),
      node('SplitToSequence', 'split_seq', ['x', 'split'], ['s1'], attrInt('axis', 0)),
      node('SplitToSequence', 'split_ones', ['x'], ['s_ones'], attrInt('axis', 1), attrInt('keepdims', 0)),
      constant('zero', INT64, [], [0]),
      constant('minus1', INT64, [], [-1]),
      node('SequenceAt', 'at_last', ['s1', 'minus1'], ['last']),
      node('SequenceInsert', 'ins_front', ['s1', 'last', 'zero'], ['s2']),
      node('SequenceErase', 'erase_last', ['s2'], ['s3']),
      node('SequenceLength', 'len', ['s3'], ['n']),
      node('ConcatFromSequence', 'cat', ['s3'], ['joined'], attrInt('axis', 0)),
      node('ConcatFromSequence', 'stack', ['s_ones'], ['stacked'], attrInt('axis', -1), attrInt('new_axis', 1)),
      node('SequenceConstruct', 'mk', ['x', 'x'], ['pair']),
      node('ConcatFromSequence', 'cat2', ['pair'], ['wide'], attrInt('axis', 1)),
      input('x', FLOAT, [6, 4]),
      output('joined', FLOAT), output('n', INT64), output('stacked', FLOAT), output('wide', FLOAT),
    ]);
    const got = await assertMatchesNative(await newPlugin(), bytes, [floatTensor('x', [6, 4], 1)], 0, 0);
    assert.deepEqual(got.map((t) => t.dims), [[6, 4], [], [6, 4], [6, 8]]);
  });

  test('a Loop accumulates a sequence (loop-carried) and SequenceMap runs a subgraph per element', async () => {
    // body: seq_out = SequenceInsert(seq_in, x * iter)
    const body = [
      input('iter', INT64, []), input('cond_in', BOOL, []), seqValue(11, 'seq_in'),
      node('Cast', 'cast', ['iter'], ['iter_f'], attrInt('to', FLOAT)),
      node('Mul', 'mul', ['x', 'iter_f'], ['scaled']),
      node('SequenceInsert', 'push', ['seq_in', 'scaled'], ['seq_out']),
      node('Identity', 'keep', ['cond_in'], ['cond_out']),
      output('cond_out', BOOL, []), seqValue(12, 'seq_out'),
    ];
    const mapBody = [
      input('item', FLOAT), input('bias', FLOAT),
      node('Add', 'add', ['item', 'bias'], ['shifted']),
      node('ReduceMax', 'max', ['shifted'], ['total'], attrInts('axes', [0]), attrInt('keepdims', 0)),
      output('total', FLOAT),
    ];
    const bytes = model(17, [
      node('SequenceEmpty', 'empty', [], ['seq0']),
      node('Loop', 'loop', ['M', '', 'seq0'], ['seq'], attrGraph('body', 'body', body)),
      node('SequenceMap', 'map', ['seq', 'bias'], ['sums'], attrGraph('body', 'map_body', mapBody)),
      node('ConcatFromSequence', 'stack', ['sums'], ['y'], attrInt('axis', 0), attrInt('new_axis', 1)),
      node('ConcatFromSequence', 'cat', ['seq'], ['all'], attrInt('axis', 0)),
      input('M', INT64, []), input('x', FLOAT, [3, 2]), input('bias', FLOAT, [2]),
      output('y', FLOAT), output('all', FLOAT),
    ]);
    const plugin = await newPlugin();
    const got = await assertMatchesNative(plugin, bytes, [int64s('M', [], [4]), floatTensor('x', [3, 2], 2), floatTensor('bias', [2], 3)], 1e-6, 1e-6);
    assert.deepEqual(got.map((t) => t.dims), [[4, 2], [12, 2]]);
  });

  test('Optional, OptionalHasElement and OptionalGetElement', async () => {
    const bytes = model(18, [
      node('Optional', 'wrap', ['x'], ['opt']),
      node('OptionalHasElement', 'has', ['opt'], ['has']),
      node('OptionalGetElement', 'get', ['opt'], ['inner']),
      node('Neg', 'neg', ['inner'], ['y']),
      input('x', FLOAT, [3]),
      output('has', BOOL), output('y', FLOAT),
    ]);
    await assertMatchesNative(await newPlugin(), bytes, [floatTensor('x', [3], 4)], 0, 0);
  });

  test('sequence and optional graph inputs and outputs cross the sandbox boundary', async () => {
    const optFloat = (field: number, name: string): Bytes => pbMsg(field, pbStr(1, name), pbMsg(2, pbMsg(9, pbMsg(1, pbMsg(1, pbInt(1, FLOAT))))));
    const bytes = model(18, [
      node('SequenceInsert', 'push', ['seq', 'x'], ['seq_out']),
      node('SequenceLength', 'len', ['seq_out'], ['n']),
      node('OptionalHasElement', 'has', ['maybe'], ['has']),
      node('Optional', 'wrap', ['x'], ['opt_out']),
      seqValue(11, 'seq'), input('x', FLOAT, [2]), optFloat(11, 'maybe'),
      seqValue(12, 'seq_out'), output('n', INT64), output('has', BOOL), optFloat(12, 'opt_out'),
    ]);
    const f = (name: string, values: number[]) => ({ name, type: 'float32' as const, dims: [values.length], data: new Uint8Array(new Float32Array(values).buffer) });
    const inputs: Value[] = [
      { kind: 'sequence', name: 'seq', elemType: 'float32', items: [f('', [1, 2, 3]), f('', [4])] },
      f('x', [5, 6]),
      { kind: 'optional', name: 'maybe', elemType: 'float32', ofSequence: false, value: null },
    ];
    const [seqOut, n, has, optOut] = await runOnnxValuesInSandbox(bytes, inputs);
    const seq = seqOut as SequenceValue;
    assert.equal(seq.kind, 'sequence');
    assert.deepEqual(seq.items.map((t) => [...new Float32Array(Uint8Array.from(t.data).buffer)]), [[1, 2, 3], [4], [5, 6]]);
    assert.deepEqual(n, { name: 'n', type: 'int64', dims: [], data: new Uint8Array(new BigInt64Array([3n]).buffer) });
    assert.deepEqual(has, { name: 'has', type: 'bool', dims: [], data: Uint8Array.from([0]) });
    assert.ok(optOut && 'kind' in optOut && optOut.kind === 'optional' && optOut.value !== null && !('kind' in optOut.value));
    // a present optional input
    const [, , has2] = await runOnnxValuesInSandbox(bytes, [inputs[0]!, inputs[1]!, { kind: 'optional', name: 'maybe', elemType: 'float32', ofSequence: false, value: f('', [1]) }]);
    assert.deepEqual(has2, { name: 'has', type: 'bool', dims: [], data: Uint8Array.from([1]) });
    // a tensor where the model declares a sequence is a model error; a truncated response is a codec error
    await assert.rejects(runOnnxValuesInSandbox(bytes, [f('seq', [1]), inputs[1]!, inputs[2]!]), /model error: input seq is a tensor, the model declares a sequence/);
    assert.throws(() => decodeValuesResponse(Uint8Array.from([0x4d, 0x53, 0x4f, 0x31, 1, 0, 0, 0, 1, 0, 0x6e, 0x80, 1, 5, 0, 0, 0])), TensorCodecError);
  });

  test('a sequence given to a tensor operator, and an out-of-range position, are model errors', async () => {
    const plugin = await newPlugin();
    const misuse = model(17, [
      node('SequenceConstruct', 'mk', ['x'], ['s']),
      node('Relu', 'relu', ['s'], ['y']),
      input('x', FLOAT, [2]), output('y', FLOAT),
    ]);
    await expectRejection(plugin, misuse, [floatTensor('x', [2], 1)], /model error: Relu \(node "relu"\) input 0 \(s\) is a sequence, expected a tensor/);
    const far = model(17, [
      node('SequenceConstruct', 'mk', ['x'], ['s']),
      constant('p', INT64, [], [3]),
      node('SequenceAt', 'at', ['s', 'p'], ['y']),
      input('x', FLOAT, [2]), output('y', FLOAT),
    ]);
    await expectRejection(plugin, far, [floatTensor('x', [2], 1)], /model error: SequenceAt \(node "at"\): position 3 is out of range for a sequence of length 1/);
  });
});
