// The smoke comparison: numpy.allclose's per-element rule, tolerances per output, and a
// failure that names the worst element.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareOutputs, DEFAULT_TOLERANCE } from '../src/smoke/compare-outputs.js';
import type { Tensor } from '../src/tensor/tensor.js';

const f32 = (name: string, dims: number[], values: number[]): Tensor => ({ name, type: 'float32', dims, data: new Uint8Array(Float32Array.from(values).buffer) });
const i64 = (name: string, dims: number[], values: number[]): Tensor => ({ name, type: 'int64', dims, data: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) });

describe('smoke output comparison', () => {
  it("a detector's large box coordinates pass on a difference that is tiny relative to them", () => {
    // 320 + 1.4e-4: over the old separate absolute check (1e-4), well inside 1e-4 + 1e-3·320.
    const native = f32('boxes', [1, 2, 2], [320, 12.5, 0.25, 1e-6]);
    const sandbox = f32('boxes', [1, 2, 2], [320.00014, 12.5001, 0.25005, 2e-6]);
    const verdict = compareOutputs([sandbox], [native], DEFAULT_TOLERANCE);
    assert.ok(verdict.ok, verdict.ok ? '' : verdict.reason);
    assert.ok(verdict.maxAbsDiff > 1e-4);
    assert.deepEqual(verdict.outputs[0]!.tolerance, DEFAULT_TOLERANCE);
  });

  it('fails per element, naming the worst element with its flat and N-d index and both values', () => {
    const native = f32('scores', [2, 3], [0, 0.5, 1, 2, 3, 4]);
    const sandbox = f32('scores', [2, 3], [0, 0.5, 1, 2, 3.01, 4.002]);
    const verdict = compareOutputs([sandbox], [native], DEFAULT_TOLERANCE);
    assert.equal(verdict.ok, false);
    assert.match(
      verdict.ok ? '' : verdict.reason,
      /^scores: 1 of 6 elements outside \|s − n\| ≤ 0\.0001 \+ 0\.001·\|n\|; worst at \[1, 1\] \(flat 4\): sandbox 3\.009999990463257, native 3, difference 1\.000e-2$/,
    );
    const worst = verdict.outputs[0]!.worst!;
    assert.deepEqual([worst.index, worst.at], [4, [1, 1]]);
    assert.ok(worst.ratio > 1);
  });

  it('tolerances per output override the release-wide one; a tolerance for an unknown output is an error', () => {
    const native = [f32('boxes', [2], [100, 200]), f32('scores', [2], [0.5, 0.25])];
    const sandbox = [f32('boxes', [2], [100.5, 200]), f32('scores', [2], [0.5, 0.25])];
    assert.equal(compareOutputs(sandbox, native, DEFAULT_TOLERANCE).ok, false);
    const verdict = compareOutputs(sandbox, native, DEFAULT_TOLERANCE, { boxes: { absolute: 1 } });
    assert.ok(verdict.ok);
    assert.deepEqual(verdict.outputs.map((o) => o.tolerance), [{ absolute: 1, relative: 1e-3 }, DEFAULT_TOLERANCE]);
    const typo = compareOutputs(sandbox, native, DEFAULT_TOLERANCE, { box: { absolute: 1 } });
    assert.match(typo.ok ? '' : typo.reason, /a tolerance is given for output box, which the model does not have \(outputs: boxes, scores\)/);
  });

  it('integer outputs compare exactly, whatever the tolerance', () => {
    const verdict = compareOutputs([i64('labels', [3], [1, 2, 1001])], [i64('labels', [3], [1, 2, 1000])], { absolute: 1, relative: 0.1 });
    assert.match(verdict.ok ? '' : verdict.reason, /labels: 1 of 3 elements outside exact equality; worst at \[2\] \(flat 2\): sandbox 1001, native 1000/);
  });

  it('NaN or infinity from the sandbox fails; the same infinity as native passes', () => {
    const nan = compareOutputs([f32('y', [2], [NaN, 1])], [f32('y', [2], [0, 1])], DEFAULT_TOLERANCE);
    assert.match(nan.ok ? '' : nan.reason, /y: 1 of 2 values are NaN or infinite/);
    assert.ok(compareOutputs([f32('y', [2], [-Infinity, 1])], [f32('y', [2], [-Infinity, 1])], DEFAULT_TOLERANCE).ok);
  });
});

describe('dynamically quantized models: agreement beside allclose', () => {
  const quantized = (explicit = false) => ({ ops: ['DynamicQuantizeLinear'], explicitTolerance: () => explicit });
  // Four rows of logits; the sandbox rounds to a neighbouring int8 step (0.05) here and there.
  const native = f32('logits', [4, 3], [2.0, 0.1, -1.0, -0.5, 1.5, 0.2, 0.3, 0.35, 0.1, 1.0, -2.0, 3.0]);
  const rounded = f32('logits', [4, 3], [2.05, 0.1, -1.0, -0.5, 1.45, 0.2, 0.36, 0.35, 0.1, 1.0, -2.05, 3.0]);

  it('outside allclose, but the direction and every decisive top-1 hold: passes by agreement, with the figures', () => {
    assert.equal(compareOutputs([rounded], [native], DEFAULT_TOLERANCE).ok, false);
    const verdict = compareOutputs([rounded], [native], DEFAULT_TOLERANCE, undefined, quantized());
    assert.ok(verdict.ok, verdict.ok ? '' : verdict.reason);
    const a = verdict.outputs[0]!.agreement!;
    assert.equal(a.passedBy, 'agreement');
    assert.ok(a.cosine > 0.999 && a.cosine < 1);
    // Row 3 (0.3 vs 0.35) is a near-tie: not a decision either kernel can be held to.
    assert.equal(a.decisiveRows, 3);
    assert.equal(a.top1Agreeing, 3);
  });

  it('a flipped decisive top-1 fails, naming the operators and the figure', () => {
    const flipped = f32('logits', [4, 3], [2.0, 0.1, -1.0, 1.6, 1.5, 0.2, 0.3, 0.35, 0.1, 1.0, -2.0, 3.0]);
    const verdict = compareOutputs([flipped], [native], DEFAULT_TOLERANCE, undefined, quantized());
    assert.equal(verdict.ok, false);
    assert.match(verdict.ok ? '' : verdict.reason, /logits: quantized \(DynamicQuantizeLinear\) and outside allclose, and .*top-1 agrees on 2 of 3 decisive rows/);
  });

  it("a tolerance the user set explicitly wins: allclose alone judges", () => {
    const verdict = compareOutputs([rounded], [native], DEFAULT_TOLERANCE, undefined, quantized(true));
    assert.equal(verdict.ok, false);
    assert.equal(verdict.outputs[0]!.agreement!.passedBy, undefined);
  });
});
