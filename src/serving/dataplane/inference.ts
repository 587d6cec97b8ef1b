import type ort from 'onnxruntime-node';
import type { Logger } from '../../logger.js';
import { InferenceFailedError, InvalidRequestError, NoStableSlotError, TargetNotLoadedError, UnknownModelError, errorMessage } from '../../errors/index.js';
import type { BundleRef, LoadedModel } from '../control/loaded-model.js';
import { SLOT_NAMES, type Lease, type SlotName } from '../control/model-slot.js';
import type { ModelEntry } from '../control/model-entry.js';
import { timedRun } from './timed-run.js';

/** The data plane's view of the control plane: look a model up by name, nothing more. */
export interface ModelLookup {
  get(name: string): ModelEntry | undefined;
}
import type { ServingMetrics } from '../metrics.js';
import { chooseSlot, randomBucket, trafficBucket } from './traffic-split.js';
import { compareShadow } from './shadow.js';

/** How a request asks to be routed. */
export interface Routing {
  /** The sticky key (x-request-key); without one the bucket is random. */
  readonly key?: string | undefined;
  /** A slot forced by the caller (x-modelship-slot): bypasses the split, even at weight 0. */
  readonly slot?: SlotName | undefined;
  /** A model version addressed by the caller (`/versions/{v}`): the slot holding it answers. */
  readonly version?: string | undefined;
}

/**
 * `split`: chosen by the canary weight (what canary analysis judges); `forced`: the caller
 * picked the slot or version, so the request is recorded and counted apart.
 */
export type RoutedBy = 'split' | 'forced';

export interface InferenceAnswer {
  readonly model: string;
  readonly slot: SlotName;
  readonly routedBy: RoutedBy;
  /** The release that answered. */
  readonly ref: BundleRef;
  readonly results: ort.InferenceSession.OnnxValueMapType;
  /** The model's outputs in its declared order. */
  readonly outputNames: readonly string[];
  /** Validated input to outputs ready, in ms (body upload and response writing not included). */
  readonly latencyMs: number;
}

/** Builds the feeds for the model that will answer (its signature decides what is valid). */
export type PrepareFeeds = (model: LoadedModel) => Record<string, ort.Tensor>;

/**
 * Answers inference requests, whatever protocol they came in: picks the slot (sticky by request
 * key, or forced), runs the model under a lease, records the outcome, and — in shadow mode —
 * runs the canary on the same inputs after the answer is on its way, comparing the predictions.
 */
export class InferenceService {
  private shadowInFlight = 0;
  private readonly shadowRuns = new Set<Promise<void>>();

  constructor(
    private readonly models: ModelLookup,
    private readonly metrics: ServingMetrics,
    private readonly logger: Logger,
    private readonly maxShadowInFlight: number,
  ) {}

  async run(name: string, routing: Routing, prepare: PrepareFeeds): Promise<InferenceAnswer> {
    const entry = this.models.get(name);
    if (!entry) throw new UnknownModelError(`no model named ${JSON.stringify(name)}`);
    const { slot, routedBy } = pickSlot(entry, routing);
    // Reading the slot and taking the lease happen in one synchronous step: a swap cannot come between.
    const lease = entry.slots[slot].lease()!;
    const { model } = lease;
    try {
      const feeds = prepare(model);
      let results: ort.InferenceSession.OnnxValueMapType;
      let latencyMs: number;
      try {
        ({ results, serviceMs: latencyMs } = await timedRun(model.session, feeds));
      } catch (err) {
        const latencyMs = (err as { serviceMs?: number }).serviceMs ?? 0;
        this.record(entry, slot, routedBy, model.ref.version, latencyMs, true);
        this.logger.warn({ model: name, slot, routedBy, version: model.ref.version, err: firstLine(err) }, 'inference failed');
        throw new InferenceFailedError(`${name}@${model.ref.version} (${slot}) failed to run: ${firstLine(err)}`);
      }
      this.record(entry, slot, routedBy, model.ref.version, latencyMs, false);
      if (slot === 'stable' && routedBy === 'split' && entry.shadow) this.startShadow(entry, lease, feeds, results);
      return { model: name, slot, routedBy, ref: model.ref, results, outputNames: model.session.outputNames, latencyMs };
    } finally {
      lease.release();
    }
  }

  /** Settles when every shadow run started so far has finished. */
  async drain(): Promise<void> {
    await Promise.all(this.shadowRuns);
  }

  private record(entry: ModelEntry, slot: SlotName, routedBy: RoutedBy, version: string, latencyMs: number, error: boolean): void {
    if (routedBy === 'forced') {
      this.metrics.observeForcedRequest(entry.name, slot, error);
      entry.observations.recordForced(slot, Date.now(), latencyMs, error, version);
      return;
    }
    this.metrics.observeRequest(entry.name, slot, latencyMs / 1000, error);
    entry.observations.recordRequest(slot, Date.now(), latencyMs, error, version);
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
      try {
        const { results, serviceMs: latencyMs } = await timedRun(canary.model.session, feeds);
        const verdict = compareShadow(stableResults, results, outputNames);
        entry.observations.recordShadow({ t: Date.now(), ...verdict, stableVersion, canaryVersion, latencyMs, error: false });
        this.metrics.observeShadow(entry.name, verdict.agree ? 'agree' : 'disagree');
      } catch (err) {
        const latencyMs = (err as { serviceMs?: number }).serviceMs ?? 0;
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

/**
 * The slot that answers, decided synchronously with taking the lease. An addressed version is
 * answered by the slot holding it; a forced slot must be loaded; otherwise the split decides
 * and needs a stable release.
 */
function pickSlot(entry: ModelEntry, routing: Routing): { slot: SlotName; routedBy: RoutedBy } {
  // The split first, without the helpers below: it is the path nearly every request takes.
  if (routing.version === undefined && routing.slot === undefined) {
    if (!entry.slots.stable.model) throw new NoStableSlotError(`${entry.name} has no stable release loaded`);
    const bucket = routing.key === undefined ? randomBucket() : trafficBucket(entry.name, routing.key);
    return chooseSlot(bucket, entry.canaryWeight, entry.slots.canary.model !== undefined) === 'canary' ? CANARY_BY_SPLIT : STABLE_BY_SPLIT;
  }
  const loaded = (slot: SlotName) => entry.slots[slot].model;
  const held = () => SLOT_NAMES.map((s) => `${s} ${loaded(s)?.ref.version ?? '(none)'}`).join(', ');
  if (routing.version !== undefined) {
    const holder = SLOT_NAMES.find((s) => loaded(s)?.ref.version === routing.version);
    if (!holder) throw new TargetNotLoadedError(`${entry.name} has no version ${JSON.stringify(routing.version)} loaded (${held()})`);
    if (routing.slot !== undefined && routing.slot !== holder) {
      throw new InvalidRequestError(`version ${routing.version} of ${entry.name} is in the ${holder} slot, but the request forces the ${routing.slot} slot`);
    }
    return { slot: holder, routedBy: 'forced' };
  }
  // What is left: a forced slot.
  const slot = routing.slot!;
  if (!loaded(slot)) throw new TargetNotLoadedError(`${entry.name} has no ${slot} release loaded (${held()})`);
  return { slot, routedBy: 'forced' };
}

const STABLE_BY_SPLIT = Object.freeze({ slot: 'stable', routedBy: 'split' } as const);
const CANARY_BY_SPLIT = Object.freeze({ slot: 'canary', routedBy: 'split' } as const);

function firstLine(err: unknown): string {
  return errorMessage(err).split('\n')[0] ?? '';
}
