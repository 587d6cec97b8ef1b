// The serving metrics record requests into plain numbers and hand them to prom-client when
// scraped: the exposition must be exactly what prom-client's own counters and histogram write
// for the same requests (the Prometheus rules and the Grafana dashboard read these series).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { DURATION_BUCKETS, ServingMetrics } from '../src/serving/metrics.js';
import type { SlotName } from '../src/serving/control/model-slot.js';

/** The previous implementation: prom-client's own metrics, told on every request. */
function referenceMetrics() {
  const registry = new Registry();
  const labelNames = ['model', 'slot'] as const;
  const requests = new Counter({ name: 'modelship_requests_total', help: 'Inference requests answered, by model and slot (including failed ones).', labelNames, registers: [registry] });
  const errors = new Counter({ name: 'modelship_request_errors_total', help: 'Inference requests that failed while running on the model, by model and slot.', labelNames, registers: [registry] });
  const duration = new Histogram({ name: 'modelship_request_duration_seconds', help: 'Inference time (validated input to outputs ready), by model and slot.', labelNames, buckets: DURATION_BUCKETS, registers: [registry] });
  return {
    init(model: string) {
      for (const slot of ['stable', 'canary'] as const) {
        requests.inc({ model, slot }, 0);
        errors.inc({ model, slot }, 0);
      }
    },
    observe(model: string, slot: SlotName, seconds: number, failed: boolean) {
      requests.inc({ model, slot });
      if (failed) errors.inc({ model, slot });
      duration.observe({ model, slot }, seconds);
    },
    render: () => registry.metrics(),
  };
}

const REQUEST_SERIES = /^(# (HELP|TYPE) )?modelship_(requests_total|request_errors_total|request_duration_seconds)/;
const requestLines = (text: string) => text.split('\n').filter((line) => REQUEST_SERIES.test(line));

describe('serving metrics', () => {
  test('the request series are exposed exactly as prom-client writes them, before and after more requests', async () => {
    const metrics = new ServingMetrics();
    const reference = referenceMetrics();
    metrics.initModel('alpha');
    reference.init('alpha');
    assert.deepEqual(requestLines(await metrics.render()), requestLines(await reference.render()));

    // Every bucket, the bounds themselves, past the last bound, a model never initialised, failures.
    const seconds = [0.0001, 0.0005, 0.0007, 0.001, 0.003, 0.02, 0.07, 0.3, 0.9, 2, 4.9, 5, 7.5, 0.00042];
    const calls: [string, SlotName, number, boolean][] = [];
    seconds.forEach((s, i) => calls.push(['alpha', i % 3 === 0 ? 'canary' : 'stable', s, i % 4 === 1]));
    calls.push(['beta', 'canary', 0.002, true], ['beta', 'stable', 0.004, false]);
    for (const [model, slot, s, failed] of calls.slice(0, 5)) {
      metrics.observeRequest(model, slot, s, failed);
      reference.observe(model, slot, s, failed);
    }
    assert.deepEqual(requestLines(await metrics.render()), requestLines(await reference.render()));
    for (const [model, slot, s, failed] of calls.slice(5)) {
      metrics.observeRequest(model, slot, s, failed);
      reference.observe(model, slot, s, failed);
    }
    const lines = requestLines(await metrics.render());
    assert.deepEqual(lines, requestLines(await reference.render()));
    assert.ok(lines.includes('modelship_request_errors_total{model="beta",slot="canary"} 1'), lines.join('\n'));
    assert.ok(lines.includes('modelship_request_duration_seconds_bucket{le="+Inf",model="alpha",slot="stable"} 9'), lines.join('\n'));
  });

  test('the JSON form of the duration histogram matches prom-client too', async () => {
    const metrics = new ServingMetrics();
    const registry = new Registry();
    const duration = new Histogram({ name: 'modelship_request_duration_seconds', help: 'h', labelNames: ['model', 'slot'] as const, buckets: DURATION_BUCKETS, registers: [registry] });
    metrics.initModel('alpha');
    for (const s of [0.0003, 0.004, 9]) {
      metrics.observeRequest('alpha', 'stable', s, false);
      duration.observe({ model: 'alpha', slot: 'stable' }, s);
    }
    const ours = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'modelship_request_duration_seconds')!;
    const theirs = (await registry.getMetricsAsJSON())[0]!;
    assert.deepEqual(ours.values, theirs.values);
  });

  test('a value that is not a number is refused, as prom-client refuses it', () => {
    const metrics = new ServingMetrics();
    assert.throws(() => metrics.observeRequest('alpha', 'stable', Number.NaN, false), TypeError);
  });
});
