// The data plane measures a model's service time, not the event-loop wait before it: the canary
// analysis compares the two slots' own costs, whatever else the process is doing.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { timedRun } from '../src/serving/dataplane/timed-run.js';
import { SAMPLE } from './helpers/canary-fixture.js';

/** Holds the event loop for `ms`, as a burst of other requests' work would. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('timedRun', () => {
  let session: ort.InferenceSession;
  const feeds = () => ({ features: new ort.Tensor('float32', Float32Array.of(5.1, 3.5, 1.4, 0.2), [1, 4]) });
  before(async () => {
    session = await ort.InferenceSession.create(SAMPLE);
  });

  it('leaves out work queued ahead of the run, which the time around the call includes', async () => {
    const BLOCK_MS = 300;
    setImmediate(() => busy(BLOCK_MS)); // queued before the run's own callback
    const start = performance.now();
    const { results, serviceMs } = await timedRun(session, feeds());
    const aroundCall = performance.now() - start;
    assert.ok(results.probabilities ?? Object.values(results)[0], 'the run answered');
    assert.ok(aroundCall >= BLOCK_MS, `the call waited behind the blocker (${aroundCall} ms)`);
    // Not a timing guess: the blocker ran entirely before the run's start was read.
    assert.ok(serviceMs <= aroundCall - BLOCK_MS, `service ${serviceMs} ms must exclude the ${BLOCK_MS} ms queued ahead (around the call: ${aroundCall} ms)`);
    assert.ok(serviceMs >= 0);
  });

  it('a failing run rejects with onnxruntime’s error, timed too', async () => {
    const err = await timedRun(session, { features: new ort.Tensor('float32', Float32Array.of(1, 2, 3), [1, 3]) }).then(
      () => assert.fail('a wrongly shaped input must fail'),
      (e: unknown) => e as Error & { serviceMs?: number },
    );
    assert.match(err.message, /features|dimension|Got invalid dimensions/i);
    assert.equal(typeof err.serviceMs, 'number');
  });
});
