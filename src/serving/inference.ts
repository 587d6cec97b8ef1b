import type ort from 'onnxruntime-node';
import type { Logger } from '../logger.js';
import { errorMessage } from '../errors.js';
import { InferenceFailedError, NoStableSlotError, UnknownModelError } from './errors.js';
import type { Lease, SlotName } from './model-slot.js';
import type { ModelEntry, ModelRegistry } from './registry.js';
import type { ServingMetrics } from './metrics.js';
import { chooseSlot, randomBucket, trafficBucket } from './router.js';
import { compareShadow } from './shadow.js';
import { outputsToJson, parseInferenceBody, type JsonTensor } from './tensors.js';

export interface InferenceResponse {
  readonly model: string;
  readonly slot: SlotName;
  readonly version: string;
  /** `sha256:<root>` of the release that answered. */
  readonly digest: string;
  readonly outputs: Record<string, JsonTensor>;
  /** Validated input to outputs ready, in ms (body upload and response writing not included). */
  readonly latencyMs: number;
}

/**
 * Answers inference requests: picks the slot (sticky by request key), runs the model under a
 * lease, records the outcome, and — in shadow mode — runs the canary on the same inputs after
 * the answer is on its way, comparing the two predictions.
 */
export class InferenceService {
  private shadowInFlight = 0;
  private readonly shadowRuns = new Set<Promise<void>>();

  constructor(
    private readonly registry: ModelRegistry,
    private readonly metrics: ServingMetrics,
    private readonly logger: Logger,
    private readonly maxShadowInFlight: number,
  ) {}

  async infer(name: string, requestKey: string | undefined, body: unknown): Promise<InferenceResponse> {
    const entry = this.registry.get(name);
    if (!entry) throw new UnknownModelError(`no model named ${JSON.stringify(name)}`);
    if (!entry.slots.stable.model) throw new NoStableSlotError(`${name} has no stable release loaded`);
    const bucket = requestKey === undefined ? randomBucket() : trafficBucket(name, requestKey);
    const slot = chooseSlot(bucket, entry.canaryWeight, entry.slots.canary.model !== undefined);
    // Reading the slot and taking the lease happen in one synchronous step: a swap cannot come between.
    const lease = entry.slots[slot].lease()!;
    const { model } = lease;
    try {
      const feeds = parseInferenceBody(body, model.manifest.signature.inputs);
      const started = performance.now();
      let results: ort.InferenceSession.OnnxValueMapType;
      try {
        results = await model.session.run(feeds);
      } catch (err) {
        const latencyMs = performance.now() - started;
        this.record(entry, slot, model.ref.version, latencyMs, true);
        this.logger.warn({ model: name, slot, version: model.ref.version, err: firstLine(err) }, 'inference failed');
        throw new InferenceFailedError(`${name}@${model.ref.version} (${slot}) failed to run: ${firstLine(err)}`);
      }
      const outputs = outputsToJson(results, model.session.outputNames);
      const latencyMs = performance.now() - started;
      this.record(entry, slot, model.ref.version, latencyMs, false);
      if (slot === 'stable' && entry.shadow) this.startShadow(entry, lease, feeds, results);
      return { model: name, slot, version: model.ref.version, digest: model.ref.digest, outputs, latencyMs };
    } finally {
      lease.release();
    }
  }

  /** Settles when every shadow run started so far has finished. */
  async drain(): Promise<void> {
    await Promise.all(this.shadowRuns);
  }

  private record(entry: ModelEntry, slot: SlotName, version: string, latencyMs: number, error: boolean): void {
    this.metrics.observeRequest(entry.name, slot, latencyMs / 1000, error);
    entry.observations.recordRequest(slot, { t: Date.now(), latencyMs, error, version });
  }

  /**
   * Takes a canary lease now (so the canary cannot be released under the shadow run), and runs
   * it on a later turn of the event loop, after the stable answer has been written. Too many
   * shadow runs at once and this one is skipped (counted), so shadow mode cannot pile up work.
   */
  private startShadow(entry: ModelEntry, stable: Lease, feeds: Record<string, ort.Tensor>, stableResults: ort.InferenceSession.OnnxValueMapType): void {
    const canary = entry.slots.canary.lease();
    if (!canary) return;
    if (this.shadowInFlight >= this.maxShadowInFlight) {
      canary.release();
      this.metrics.shadowSkippedFor(entry.name);
      return;
    }
    this.shadowInFlight++;
    const stableVersion = stable.model.ref.version;
    const outputNames = stable.model.session.outputNames;
    const run = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const canaryVersion = canary.model.ref.version;
      const started = performance.now();
      try {
        const results = await canary.model.session.run(feeds);
        const latencyMs = performance.now() - started;
        const verdict = compareShadow(stableResults, results, outputNames);
        entry.observations.recordShadow({ t: Date.now(), ...verdict, stableVersion, canaryVersion, latencyMs, error: false });
        this.metrics.observeShadow(entry.name, verdict.agree ? 'agree' : 'disagree');
      } catch (err) {
        const latencyMs = performance.now() - started;
        entry.observations.recordShadow({ t: Date.now(), agree: false, maxAbsDiff: null, stableVersion, canaryVersion, latencyMs, error: true, reason: firstLine(err) });
        this.metrics.observeShadow(entry.name, 'error');
        this.logger.warn({ model: entry.name, version: canaryVersion, err: firstLine(err) }, 'shadow inference failed');
      } finally {
        canary.release();
        this.shadowInFlight--;
      }
    });
    this.shadowRuns.add(run);
    void run.finally(() => this.shadowRuns.delete(run));
  }
}

function firstLine(err: unknown): string {
  return errorMessage(err).split('\n')[0] ?? '';
}
