// The host's fix-ups of the bytes handed to the sandbox (src/sandbox/model-fixups.ts): each must
// make a model onnxruntime-web refuses run with native's outputs, change only what it reports,
// and leave everything else (and the caller's bytes) as they were.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.js';
import { CorruptModelError } from '../src/errors/index.js';
import { isDeclaredShapeMismatch, removeSubgraphDeclaredShapes, sandboxFixupFor } from '../src/sandbox/model-fixups.js';
import { assertMatches, expectEngineError, runEngine, runNative, tensor } from './helpers/onnx-graph.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Runs `script` with the project's Python (onnx), in `cwd`. */
function python(script: string, cwd: string): void {
  execFileSync(join(PROJECT_ROOT, '.venv', 'bin', 'python'), ['-c', script], { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}

describe('sandbox model fix-up: subgraph-declared-shapes', () => {
  let dir: string;
  let conflicting: Uint8Array;
  let undeclared: Uint8Array;
  let plain: Uint8Array;
  const inputs = (c: boolean) => [tensor('c', 'bool', [], [c ? 1 : 0]), tensor('x', 'float32', [1], [2])];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelship-fixups-'));
    // SLANet-plus's conflict in small: If branches declare scalar outputs but yield [1]; the main
    // graph declares y as [1] and a value_info, which the fix-up must leave alone.
    python(
      `import onnx
from onnx import helper, TensorProto as T
def model(branch_shape, name):
    then_b = helper.make_graph([helper.make_node('Add',['x','one'],['t_out'])],'then',[],[helper.make_tensor_value_info('t_out',T.FLOAT,branch_shape)])
    else_b = helper.make_graph([helper.make_node('Sub',['x','one'],['e_out'])],'else',[],[helper.make_tensor_value_info('e_out',T.FLOAT,branch_shape)])
    g = helper.make_graph([helper.make_node('If',['c'],['b'],then_branch=then_b,else_branch=else_b,name='branch'),helper.make_node('Mul',['b','x'],['y'])],'g',
        [helper.make_tensor_value_info('c',T.BOOL,[]),helper.make_tensor_value_info('x',T.FLOAT,[1])],
        [helper.make_tensor_value_info('y',T.FLOAT,[1])],[helper.make_tensor('one',T.FLOAT,[1],[1.0])],
        value_info=[helper.make_tensor_value_info('b',T.FLOAT,[1])])
    m = helper.make_model(g,opset_imports=[helper.make_opsetid('',17)]); m.ir_version = 8
    onnx.save(m, name)
model([], 'conflicting.onnx')
model(None, 'undeclared.onnx')
g = helper.make_graph([helper.make_node('Add',['x','x'],['y'])],'g',[helper.make_tensor_value_info('x',T.FLOAT,[1])],[helper.make_tensor_value_info('y',T.FLOAT,[1])])
onnx.save(helper.make_model(g,opset_imports=[helper.make_opsetid('',17)]),'plain.onnx')`,
      dir,
    );
    conflicting = await readFile(join(dir, 'conflicting.onnx'));
    undeclared = await readFile(join(dir, 'undeclared.onnx'));
    plain = await readFile(join(dir, 'plain.onnx'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('the model as published is refused by onnxruntime-web and run by onnxruntime-node (what the fix-up answers)', async () => {
    const err = await expectEngineError(conflicting, inputs(true), /could not load the model/);
    assert.equal(err.phase, 'load');
    assert.ok(isDeclaredShapeMismatch(err.engineMessage), err.engineMessage);
    assert.deepEqual(Array.from((await runNative(conflicting, inputs(true)))[0]!.data.slice(0, 4)), Array.from(new Uint8Array(new Float32Array([6]).buffer)));
  });

  it('after the fix-up the sandbox runs it and agrees with native on the signed model, both branches', async () => {
    const before = sha256(conflicting);
    const err = await expectEngineError(conflicting, inputs(false), /ShapeInferenceError/);
    const fixup = sandboxFixupFor(conflicting, err.engineMessage);
    assert.ok(fixup);
    assert.equal(fixup.id, 'subgraph-declared-shapes');
    // In the file's attribute order (onnx writes else_branch first).
    assert.deepEqual(fixup.changed, ["graph/If 'branch'.else_branch: output e_out", "graph/If 'branch'.then_branch: output t_out"]);
    assert.equal(fixup.sha256, sha256(fixup.bytes));
    assert.notEqual(fixup.sha256, before);
    assert.equal(sha256(conflicting), before, "the caller's bytes are not changed");
    for (const c of [true, false]) assertMatches(await runEngine(fixup.bytes, inputs(c)), await runNative(conflicting, inputs(c)), 0, 0, `c=${c}`);
  });

  it('removes only the declared shapes of subgraph values: the result is the same model with those shapes undeclared', () => {
    const fixup = removeSubgraphDeclaredShapes(conflicting);
    assert.ok(fixup);
    // undeclared.onnx is written by onnx itself with no branch shapes and everything else equal.
    assert.equal(Buffer.compare(Buffer.from(fixup.bytes), undeclared), 0);
  });

  it('does nothing to a model with nothing to remove, nor for another refusal', () => {
    assert.equal(removeSubgraphDeclaredShapes(undeclared), null);
    assert.equal(removeSubgraphDeclaredShapes(plain), null);
    assert.equal(sandboxFixupFor(conflicting, 'Could not find an implementation for Foo(1) node with name n'), null);
  });

  it('a corrupt model is refused by name', () => {
    const truncated = conflicting.subarray(0, Math.floor(conflicting.length / 2));
    assert.throws(() => removeSubgraphDeclaredShapes(truncated), (err: unknown) => err instanceof CorruptModelError && /cannot read the model/.test(err.message));
  });
});
