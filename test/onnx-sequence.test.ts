// Sequence and optional values inside the sandboxed engine, against onnxruntime-node: the
// sequence operators, a Loop that accumulates a sequence, SequenceMap over a subgraph, and
// optionals; sequences reaching a tensor-only operator are refused by name.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BOOL, FLOAT, INT64, assertMatchesNative, attrGraph, attrInt, attrInts, constant, expectRejection, floatTensor, input, int64s, model, newPlugin,
  node, output, pbInt, pbMsg, pbStr, type Bytes,
} from './helpers/onnx-models.js';

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
