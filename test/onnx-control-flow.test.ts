// If, Loop and Scan in the sandboxed engine against onnxruntime-node: subgraphs reading outer
// values (through nested scopes), loop termination rules, many iterations, scan axes and
// directions (opset 8 and 9+), and malformed subgraphs refused with clear errors, never a trap.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BOOL, FLOAT, INT64, assertMatchesNative, attrGraph, attrInt, attrInts, bools, constant, domainNode, expectRejection, floatTensor,
  floats, initializer, input, int64s, model, newPlugin, node, output, runEngine, type Bytes, typed,
} from './helpers/onnx-models.js';
import { seededRandom } from '../src/smoke/seeded-random.js';

/** A Loop body: (iter, cond_in, ...carried) -> (cond_out, ...). */
function loopBody(carried: Array<[string, number, number[] | undefined]>, nodes: Bytes[], outputs: Bytes[]): Bytes[] {
  return [input('iter', INT64, []), input('cond_in', BOOL, []), ...carried.map(([n, t, d]) => input(n, t, d)), ...nodes, ...outputs];
}

describe('onnx-engine control flow', () => {
  test('If: both branches read values of the enclosing graph', async () => {
    const bytes = model(17, [
      initializer('c', FLOAT, [3], [0.5, -2, 3]),
      node('Relu', 'relu', ['x'], ['y']),
      node('If', 'if0', ['cond'], ['out'],
        attrGraph('then_branch', 'then', [node('Add', 'add', ['y', 'x'], ['t']), output('t', FLOAT)]),
        attrGraph('else_branch', 'else', [node('Mul', 'mul', ['y', 'c'], ['e']), output('e', FLOAT)])),
      input('x', FLOAT, [2, 3]),
      input('cond', BOOL, []),
      output('out', FLOAT),
    ]);
    const plugin = await newPlugin();
    for (const c of [true, false]) {
      const got = await assertMatchesNative(plugin, bytes, [floatTensor('x', [2, 3], 3), bools('cond', [], [c])]);
      assert.deepEqual(got[0]!.dims, [2, 3]);
    }
  });

  test('a nested If inside a Loop reads the main graph\'s values two scopes out', async () => {
    const body = loopBody([['acc', FLOAT, [4]]], [
      constant('two', INT64, [], [2]),
      node('Less', 'early', ['iter', 'two'], ['is_early']),
      node('If', 'pick', ['is_early'], ['acc_new'],
        attrGraph('then_branch', 'add_x', [node('Add', 'add', ['acc', 'x'], ['a1']), output('a1', FLOAT)]),
        attrGraph('else_branch', 'scale', [node('Mul', 'mul', ['acc', 'scale'], ['a2']), output('a2', FLOAT)])),
      node('Identity', 'keep', ['cond_in'], ['cond_out']),
      node('Identity', 'snap', ['acc_new'], ['snapshot']),
    ], [output('cond_out', BOOL, []), output('acc_new', FLOAT, [4]), output('snapshot', FLOAT, [4])]);
    const bytes = model(17, [
      initializer('scale', FLOAT, [4], [1.5, -1, 0.5, 2]),
      node('Loop', 'loop', ['M', '', 'init'], ['final', 'history'], attrGraph('body', 'body', body)),
      input('M', INT64, []),
      input('x', FLOAT, [4]),
      input('init', FLOAT, [4]),
      output('final', FLOAT),
      output('history', FLOAT),
    ]);
    const plugin = await newPlugin();
    const got = await assertMatchesNative(plugin, bytes, [int64s('M', [], [5]), floatTensor('x', [4], 1), floatTensor('init', [4], 2)]);
    assert.deepEqual(got.map((t) => t.dims), [[4], [5, 4]]);
    // zero trips: the initial value comes back, the scan output is empty with the body's declared shape
    const none = await assertMatchesNative(plugin, bytes, [int64s('M', [], [0]), floatTensor('x', [4], 1), floatTensor('init', [4], 2)]);
    assert.deepEqual(none.map((t) => t.dims), [[4], [0, 4]]);
  });

  test('Loop ends by trip count, by condition, or by both, as onnxruntime does', async () => {
    // acc += step; cond_out = acc < limit (limit read from the main graph)
    const body = loopBody([['acc', FLOAT, [1]]], [
      node('Add', 'add', ['acc', 'step'], ['acc_out']),
      node('Less', 'less', ['acc_out', 'limit'], ['cond_out']),
      node('Identity', 'snap', ['iter'], ['iters']),
    ], [output('cond_out', BOOL, []), output('acc_out', FLOAT, [1]), output('iters', INT64, [])]);
    const graph = (m: string, c: string): Uint8Array => model(16, [
      initializer('step', FLOAT, [1], [1.5]),
      node('Loop', 'loop', [m, c, 'init'], ['final', 'iters_seen'], attrGraph('body', 'body', body)),
      ...(m ? [input('M', INT64, [])] : []),
      ...(c ? [input('cond', BOOL, [])] : []),
      input('init', FLOAT, [1]),
      input('limit', FLOAT, [1]),
      output('final', FLOAT),
      output('iters_seen', INT64),
    ]);
    const plugin = await newPlugin();
    const init = floats('init', [1], [0]);
    const limit = floats('limit', [1], [7]);
    // while (cond): stops when acc reaches 7.5 after 5 iterations
    let got = await assertMatchesNative(plugin, graph('', 'cond'), [bools('cond', [], [true]), init, limit]);
    assert.deepEqual([...typed(got[1]!)], [0n, 1n, 2n, 3n, 4n]);
    // a false initial condition runs no iteration
    got = await assertMatchesNative(plugin, graph('', 'cond'), [bools('cond', [], [false]), init, limit]);
    assert.deepEqual(got[1]!.dims, [0]);
    // trip count and condition: the smaller wins
    got = await assertMatchesNative(plugin, graph('M', 'cond'), [int64s('M', [], [3]), bools('cond', [], [true]), init, limit]);
    assert.deepEqual(got[1]!.dims, [3]);
    // trip count only
    await assertMatchesNative(plugin, graph('M', ''), [int64s('M', [], [9]), init, limit]);
  });

  test('a Loop of 2000 iterations with 1 MiB temporaries recycles its buffers', async () => {
    // 2000 iterations x 2 MiB of temporaries would be far above the 256 MiB memory cap if
    // iteration values were not freed and reused.
    const n = 262144;
    const body = loopBody([['acc', FLOAT, [n]]], [
      node('Mul', 'decay', ['acc', 'half'], ['t']),
      node('Add', 'add', ['t', 'x'], ['acc_out']),
      node('Identity', 'keep', ['cond_in'], ['cond_out']),
      node('Identity', 'count', ['iter'], ['iters']),
    ], [output('cond_out', BOOL, []), output('acc_out', FLOAT, [n]), output('iters', INT64, [])]);
    const bytes = model(17, [
      initializer('half', FLOAT, [1], [0.5]),
      node('Loop', 'loop', ['M', '', 'init'], ['final', 'iters'], attrGraph('body', 'body', body)),
      input('M', INT64, []),
      input('x', FLOAT, [n]),
      input('init', FLOAT, [n]),
      output('final', FLOAT),
      output('iters', INT64),
    ]);
    const plugin = await newPlugin();
    const got = await assertMatchesNative(plugin, bytes, [int64s('M', [], [2000]), floatTensor('x', [n], 4), floatTensor('init', [n], 5)]);
    assert.deepEqual(got[1]!.dims, [2000]);
    assert.equal(typed(got[1]!)[1999], 1999n);
  });

  test('Scan (opset 11): input and output axes and directions, a body reading an outer value', async () => {
    // state s [2]; scan inputs a [T,2] along axis 0 forward, b [2,T] along axis 1 reversed
    const body = [
      input('s', FLOAT, [2]), input('a_t', FLOAT, [2]), input('b_t', FLOAT, [2]),
      node('Add', 'add', ['s', 'a_t'], ['s1']),
      node('Mul', 'mul', ['b_t', 'w'], ['bw']),
      node('Add', 'add2', ['s1', 'bw'], ['s_out']),
      node('Sub', 'sub', ['s_out', 'a_t'], ['y1']),
      node('Identity', 'id', ['s_out'], ['y2']),
      output('s_out', FLOAT, [2]), output('y1', FLOAT, [2]), output('y2', FLOAT, [2]),
    ];
    const bytes = model(11, [
      initializer('w', FLOAT, [2], [0.5, -1.5]),
      node('Scan', 'scan', ['s0', 'a', 'b'], ['s_final', 'ys1', 'ys2'], attrGraph('body', 'body', body), attrInt('num_scan_inputs', 2),
        attrInts('scan_input_axes', [0, 1]), attrInts('scan_input_directions', [0, 1]), attrInts('scan_output_axes', [0, -1]), attrInts('scan_output_directions', [1, 0])),
      input('s0', FLOAT, [2]), input('a', FLOAT, [5, 2]), input('b', FLOAT, [2, 5]),
      output('s_final', FLOAT), output('ys1', FLOAT), output('ys2', FLOAT),
    ]);
    const got = await assertMatchesNative(await newPlugin(), bytes, [floatTensor('s0', [2], 1), floatTensor('a', [5, 2], 2), floatTensor('b', [2, 5], 3)]);
    assert.deepEqual(got.map((t) => t.dims), [[2], [5, 2], [2, 5]]);
  });

  test('Scan (opset 8): batched inputs, reverse direction, sequence_lens', async () => {
    const body = [
      input('s', FLOAT, [3]), input('x_t', FLOAT, [3]),
      node('Add', 'add', ['s', 'x_t'], ['s_out']),
      node('Mul', 'mul', ['s_out', 'x_t'], ['y']),
      output('s_out', FLOAT, [3]), output('y', FLOAT, [3]),
    ];
    const graph = (lens: boolean): Uint8Array => model(8, [
      node('Scan', 'scan', [lens ? 'lens' : '', 's0', 'x'], ['s_final', 'ys'], attrGraph('body', 'body', body), attrInt('num_scan_inputs', 1), attrInts('directions', [1])),
      ...(lens ? [input('lens', INT64, [2])] : []),
      input('s0', FLOAT, [2, 3]), input('x', FLOAT, [2, 4, 3]),
      output('s_final', FLOAT), output('ys', FLOAT),
    ]);
    const plugin = await newPlugin();
    const got = await assertMatchesNative(plugin, graph(false), [floatTensor('s0', [2, 3], 1), floatTensor('x', [2, 4, 3], 2)]);
    assert.deepEqual(got.map((t) => t.dims), [[2, 3], [2, 4, 3]]);
    await assertMatchesNative(plugin, graph(true), [int64s('lens', [2], [4, 2]), floatTensor('s0', [2, 3], 1), floatTensor('x', [2, 4, 3], 2)]);
    // a length of 0 is refused, as onnxruntime refuses it
    await expectRejection(plugin, graph(true), [int64s('lens', [2], [0, 3]), floatTensor('s0', [2, 3], 1), floatTensor('x', [2, 4, 3], 2)],
      /model error: Scan \(node "scan"\): sequence_lens\[0\] = 0 is outside \[1, 4\]/);
  });

  test('malformed subgraphs are model errors naming the node, and the plugin keeps working', async () => {
    const plugin = await newPlugin();
    const good = model(17, [
      node('If', 'if0', ['cond'], ['out'],
        attrGraph('then_branch', 't', [node('Neg', 'neg', ['x'], ['n']), output('n', FLOAT)]),
        attrGraph('else_branch', 'e', [node('Abs', 'abs', ['x'], ['a']), output('a', FLOAT)])),
      input('x', FLOAT, [2]), input('cond', BOOL, []), output('out', FLOAT),
    ]);
    const ins = [floats('x', [2], [1, -2]), bools('cond', [], [true])];
    const check = async (bytes: Uint8Array, pattern: RegExp): Promise<void> => {
      await expectRejection(plugin, bytes, ins, pattern);
      assert.deepEqual([...typed((await runEngine(plugin, good, ins))[0]!)], [-1, 2]);
    };
    const ifWith = (thenParts: Bytes[], elseParts: Bytes[] | null, extra: Bytes[] = []): Uint8Array => model(17, [
      ...extra,
      node('If', 'if0', ['cond'], ['out'], attrGraph('then_branch', 't', thenParts), ...(elseParts ? [attrGraph('else_branch', 'e', elseParts)] : [])),
      input('x', FLOAT, [2]), input('cond', BOOL, []), output('out', FLOAT),
    ]);
    const neg = [node('Neg', 'neg', ['x'], ['n']), output('n', FLOAT)];
    // a name defined nowhere (checked in the branch that does not run, too)
    await check(ifWith(neg, [node('Abs', 'abs', ['nope'], ['a']), output('a', FLOAT)]),
      /model error: Abs \(node "abs"\) reads nope, which no earlier node, graph input or initializer provides in else_branch of If \(node "if0"\) or an enclosing graph/);
    // a value defined inside a subgraph is not visible outside it
    await check(model(17, [
      node('If', 'if0', ['cond'], ['out'], attrGraph('then_branch', 't', neg), attrGraph('else_branch', 'e', neg)),
      node('Abs', 'leak', ['n'], ['z']),
      input('x', FLOAT, [2]), input('cond', BOOL, []), output('z', FLOAT),
    ]), /model error: Abs \(node "leak"\) reads n, which no earlier node/);
    // a missing branch; branches that disagree on their outputs
    await check(ifWith(neg, null), /model error: If \(node "if0"\) lacks the graph attribute else_branch/);
    await check(ifWith(neg, [node('Neg', 'neg', ['x'], ['n']), output('n', FLOAT), output('x', FLOAT)]), /model error: If \(node "if0"\): has 1 outputs, then_branch 1 and else_branch 2/);
    // a branch output that nothing produces
    await check(ifWith(neg, [output('ghost', FLOAT)]), /model error: graph output ghost is not produced by any node, input or initializer in else_branch of If/);
    // a Loop body with the wrong number of inputs
    await check(model(17, [
      constant('M', INT64, [], [2]),
      node('Loop', 'loop', ['M', '', 'x'], ['y'], attrGraph('body', 'b', [input('iter', INT64, []), input('c', BOOL, []), output('c', BOOL)])),
      input('x', FLOAT, [2]), input('cond', BOOL, []), output('y', FLOAT),
    ]), /model error: Loop \(node "loop"\): body takes 2 inputs, expected 2 \+ 1 loop-carried/);
    // a cond that is not bool
    await check(model(17, [
      node('Cast', 'cast', ['cond'], ['cf'], attrInt('to', FLOAT)),
      node('If', 'if1', ['cf'], ['out'], attrGraph('then_branch', 't', neg), attrGraph('else_branch', 'e', neg)),
      input('x', FLOAT, [2]), input('cond', BOOL, []), output('out', FLOAT),
    ]), /model error: If \(node "if1"\): cond must be bool, is float32/);
    // subgraphs nested deeper than the engine allows are a decode error, not a stack overflow
    let deep: Bytes[] = neg;
    for (let i = 0; i < 40; i++) deep = [node('If', `if${i}`, ['cond'], ['n'], attrGraph('then_branch', 't', deep), attrGraph('else_branch', 'e', neg)), output('n', FLOAT)];
    await check(model(17, [...deep.slice(0, -1), input('x', FLOAT, [2]), input('cond', BOOL, []), output('n', FLOAT)]), /decode error: subgraphs nest more than 32 levels deep/);
  });

  test('never traps on corrupted control-flow models (fuzz)', async () => {
    const body = loopBody([['acc', FLOAT, [4]]], [
      constant('two', INT64, [], [2]),
      node('Less', 'early', ['iter', 'two'], ['is_early']),
      node('If', 'pick', ['is_early'], ['acc_new'],
        attrGraph('then_branch', 'add_x', [node('Add', 'add', ['acc', 'x'], ['a1']), output('a1', FLOAT)]),
        attrGraph('else_branch', 'scale', [node('Mul', 'mul', ['acc', 'x'], ['a2']), output('a2', FLOAT)])),
      node('Identity', 'keep', ['cond_in'], ['cond_out']),
      node('Identity', 'snap', ['acc_new'], ['snapshot']),
    ], [output('cond_out', BOOL, []), output('acc_new', FLOAT, [4]), output('snapshot', FLOAT, [4])]);
    const good = model(17, [
      node('Loop', 'loop', ['M', '', 'x'], ['final', 'history'], attrGraph('body', 'body', body)),
      node('Scan', 'scan', ['x', 'history'], ['s', 'ys'], attrGraph('body', 'sbody', [
        input('st', FLOAT, [4]), input('h', FLOAT, [4]), node('Add', 'sadd', ['st', 'h'], ['st2']), node('Neg', 'sneg', ['st2'], ['y']), output('st2', FLOAT), output('y', FLOAT),
      ]), attrInt('num_scan_inputs', 1)),
      input('M', INT64, []), input('x', FLOAT, [4]), output('final', FLOAT), output('ys', FLOAT),
    ]);
    const inputs = [int64s('M', [], [3]), floatTensor('x', [4], 1)];
    const plugin = await newPlugin();
    await assertMatchesNative(plugin, good, inputs);
    const next = seededRandom(77);
    const outcomes = { ok: 0, refused: 0 };
    for (let i = 0; i < 300; i++) {
      const m = Uint8Array.from(good);
      for (let f = 1 + Math.floor(next() * 3); f > 0; f--) m[Math.floor(next() * m.length)] = Math.floor(next() * 256);
      try {
        await runEngine(plugin, m, inputs);
        outcomes.ok++;
      } catch (err) {
        const message = (err as Error).message;
        assert.match(message, /^Plugin-originated error: (decode error|model error|unsupported)/, `a ${m.length}-byte model: ${message}`);
        outcomes.refused++;
      }
    }
    assert.equal(outcomes.ok + outcomes.refused, 300);
    assert.ok(outcomes.refused > 50, JSON.stringify(outcomes));
  });

  test('an operator of another domain inside a subgraph is refused naming domain, operator and node', async () => {
    const plugin = await newPlugin();
    const inner = [domainNode('com.microsoft', 'FusedMatMul', 'fm', ['x', 'x'], ['y']), output('y', FLOAT)];
    const bytes = model(17, [
      node('If', 'if0', ['cond'], ['out'], attrGraph('then_branch', 't', inner), attrGraph('else_branch', 'e', [node('Neg', 'neg', ['x'], ['n']), output('n', FLOAT)])),
      input('x', FLOAT, [2, 2]), input('cond', BOOL, []), output('out', FLOAT),
    ]);
    // refused before anything runs, whichever branch the condition picks
    for (const c of [true, false]) {
      await expectRejection(plugin, bytes, [floatTensor('x', [2, 2], 1), bools('cond', [], [c])],
        /unsupported operator FusedMatMul \(node "fm", domain com\.microsoft\) in then_branch of If \(node "if0"\)/);
    }
    // nested two levels deep, in a Loop body
    const body = loopBody([['acc', FLOAT, [2, 2]]], [
      node('If', 'inner_if', ['cond_in'], ['acc_out'], attrGraph('then_branch', 't', [domainNode('com.microsoft', 'Gelu', 'ms_gelu', ['acc'], ['g']), output('g', FLOAT)]),
        attrGraph('else_branch', 'e', [node('Neg', 'neg', ['acc'], ['ng']), output('ng', FLOAT)])),
      node('Identity', 'keep', ['cond_in'], ['cond_out']),
    ], [output('cond_out', BOOL, []), output('acc_out', FLOAT)]);
    const loop = model(17, [node('Loop', 'loop', ['M', '', 'x'], ['y'], attrGraph('body', 'b', body)), input('M', INT64, []), input('x', FLOAT, [2, 2]), output('y', FLOAT)]);
    await expectRejection(plugin, loop, [int64s('M', [], [2]), floatTensor('x', [2, 2], 1)],
      /unsupported operator Gelu \(node "ms_gelu", domain com\.microsoft\) in then_branch of If \(node "inner_if"\) in body of Loop \(node "loop"\)/);
  });
});
