import { Counter, Gauge, Registry } from 'prom-client';
import type { SlotName } from './control/model-slot.js';
import type { BundleRef } from './control/loaded-model.js';
import { RecordedHistogram, RequestSeries, syncCounter } from './request-series.js';

/** Request duration buckets, seconds: 0.5 ms to 5 s. */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export type ShadowResult = 'agree' | 'disagree' | 'error';

/** The runtime's Prometheus metrics, in a Registry of its own (never prom-client's global one). */
export class ServingMetrics {
  readonly registry = new Registry();
  /** Per model, its two slots' request series (recorded per request, read by the three metrics below when scraped). */
  private readonly series = new Map<string, Record<SlotName, RequestSeries>>();
  private readonly requests: Counter<'model' | 'slot'> = new Counter({
    name: 'modelship_requests_total',
    help: 'Inference requests answered, by model and slot (including failed ones).',
    labelNames: ['model', 'slot'] as const,
    registers: [this.registry],
    collect: () => {
      for (const s of this.allSeries()) s.syncedRequests = syncCounter(this.requests, s.labels, s.syncedRequests, s.requests);
    },
  });
  private readonly errors: Counter<'model' | 'slot'> = new Counter({
    name: 'modelship_request_errors_total',
    help: 'Inference requests that failed while running on the model, by model and slot.',
    labelNames: ['model', 'slot'] as const,
    registers: [this.registry],
    collect: () => {
      for (const s of this.allSeries()) s.syncedErrors = syncCounter(this.errors, s.labels, s.syncedErrors, s.errors);
    },
  });
  private readonly duration = new RecordedHistogram({
    name: 'modelship_request_duration_seconds',
    help: 'Inference time (validated input to outputs ready), by model and slot.',
    labelNames: ['model', 'slot'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly forced = new Counter({
    name: 'modelship_forced_requests_total',
    help: 'Inference requests whose caller forced the slot (x-modelship-slot) or addressed a version; not in modelship_requests_total.',
    labelNames: ['model', 'slot'] as const,
    registers: [this.registry],
  });
  private readonly forcedErrors = new Counter({
    name: 'modelship_forced_request_errors_total',
    help: 'Forced inference requests that failed while running on the model.',
    labelNames: ['model', 'slot'] as const,
    registers: [this.registry],
  });
  private readonly shadow = new Counter({
    name: 'modelship_shadow_comparisons_total',
    help: 'Shadow runs of the canary on requests the stable slot answered, by result (agree, disagree, error).',
    labelNames: ['model', 'result'] as const,
    registers: [this.registry],
  });
  private readonly shadowSkipped = new Counter({
    name: 'modelship_shadow_skipped_total',
    help: 'Shadow runs skipped because too many were already running.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  private readonly canaryWeight = new Gauge({
    name: 'modelship_canary_weight',
    help: 'Percent of keyed traffic routed to the canary slot (0-100).',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  private readonly slotInfo = new Gauge({
    name: 'modelship_slot_info',
    help: 'The release loaded in each slot (value 1).',
    labelNames: ['model', 'slot', 'version', 'digest'] as const,
    registers: [this.registry],
  });
  private readonly bundlesRefused = new Counter({
    name: 'modelship_bundles_refused_total',
    help: 'Deploys refused (bundle failed verification, wrong model, incompatible signature, ...), by model, slot and error type.',
    labelNames: ['model', 'slot', 'reason'] as const,
    registers: [this.registry],
  });
  private readonly slotLabels = new Map<string, { model: string; slot: SlotName; version: string; digest: string }>();
  private *allSeries(): IterableIterator<RequestSeries> {
    for (const slots of this.series.values()) {
      yield slots.stable;
      yield slots.canary;
    }
  }

  private seriesOf(model: string): Record<SlotName, RequestSeries> {
    let slots = this.series.get(model);
    if (!slots) {
      slots = { stable: new RequestSeries({ model, slot: 'stable' }, DURATION_BUCKETS), canary: new RequestSeries({ model, slot: 'canary' }, DURATION_BUCKETS) };
      this.series.set(model, slots);
    }
    return slots;
  }

  /** Creates every series of a model at zero, so rates and ratios exist before the first request. */
  initModel(model: string): void {
    for (const slot of ['stable', 'canary'] as const) {
      this.requests.inc({ model, slot }, 0);
      this.errors.inc({ model, slot }, 0);
      this.forced.inc({ model, slot }, 0);
      this.forcedErrors.inc({ model, slot }, 0);
    }
    for (const result of ['agree', 'disagree', 'error'] as const) this.shadow.inc({ model, result }, 0);
    this.shadowSkipped.inc({ model }, 0);
    this.canaryWeight.set({ model }, 0);
  }

  observeRequest(model: string, slot: SlotName, seconds: number, failed: boolean): void {
    const series = this.seriesOf(model)[slot];
    // The counters take the counts at the next scrape (collect); their series are created when
    // prom-client's inc would have created them, so the exposition keeps its order.
    if (series.requests === 0) this.requests.inc(series.labels, 0);
    if (failed && series.errors === 0) this.errors.inc(series.labels, 0);
    this.duration.observeInto(series, seconds, failed);
  }

  observeForcedRequest(model: string, slot: SlotName, failed: boolean): void {
    this.forced.inc({ model, slot });
    if (failed) this.forcedErrors.inc({ model, slot });
  }

  observeShadow(model: string, result: ShadowResult): void {
    this.shadow.inc({ model, result });
  }

  shadowSkippedFor(model: string): void {
    this.shadowSkipped.inc({ model });
  }

  bundleRefused(model: string, slot: SlotName, reason: string): void {
    this.bundlesRefused.inc({ model, slot, reason });
  }

  setCanaryWeight(model: string, weight: number): void {
    this.canaryWeight.set({ model }, weight);
  }

  setSlot(model: string, slot: SlotName, ref: BundleRef | undefined): void {
    const key = `${model}\0${slot}`;
    const old = this.slotLabels.get(key);
    if (old) this.slotInfo.remove(old);
    this.slotLabels.delete(key);
    if (ref) {
      const labels = { model, slot, version: ref.version, digest: ref.digest };
      this.slotInfo.set(labels, 1);
      this.slotLabels.set(key, labels);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
