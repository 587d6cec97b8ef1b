import type { BundleRef } from './loaded-model.js';
import { ModelSlot, type SlotName } from './model-slot.js';
import { ModelObservations } from '../dataplane/observations.js';
import type { PersistedModel } from './state-store.js';

export interface SlotStatus extends BundleRef {
  /** `serving`, or `failed` when the bundle recorded for the slot did not verify or load at start. */
  readonly state: 'serving' | 'failed';
  readonly loadedAt: string | null;
  /** Requests running on this slot's model now. */
  readonly inFlight: number;
  readonly error?: string;
}

export interface ModelStatus {
  readonly name: string;
  readonly canaryWeight: number;
  readonly shadow: boolean;
  readonly slots: Record<SlotName, SlotStatus | null>;
  readonly previousStable: BundleRef | null;
  /** Swapped-out models still finishing requests. */
  readonly draining: number;
}

/** What every admin change answers: whether anything changed, in words, and the model's status after it. */
export interface AdminResult {
  readonly model: string;
  readonly changed: boolean;
  readonly message: string;
  readonly status: ModelStatus;
}

/** One named model: its two slots, the traffic split, shadow mode and its observations. */
export class ModelEntry {
  readonly slots: Record<SlotName, ModelSlot> = { stable: new ModelSlot(), canary: new ModelSlot() };
  /** Slots whose recorded bundle could not be loaded at start: kept (and persisted) until replaced. */
  readonly failed: Partial<Record<SlotName, { readonly ref: BundleRef; readonly error: string }>> = {};
  canaryWeight = 0;
  shadow = false;
  previousStable: BundleRef | undefined;
  draining = 0;
  readonly observations: ModelObservations;

  constructor(
    readonly name: string,
    observationsCapacity: number,
  ) {
    this.observations = new ModelObservations(observationsCapacity);
  }

  refOf(slot: SlotName): BundleRef | undefined {
    return this.slots[slot].model?.ref ?? this.failed[slot]?.ref;
  }

  persisted(): PersistedModel {
    const record: PersistedModel = { canaryWeight: this.canaryWeight, shadow: this.shadow };
    const stable = this.refOf('stable');
    const canary = this.refOf('canary');
    if (stable) record.stable = stable;
    if (canary) record.canary = canary;
    if (this.previousStable) record.previousStable = this.previousStable;
    return record;
  }

  /** What an admin change answers: whether it changed anything, in words, and the status after it. */
  result(changed: boolean, message: string): AdminResult {
    return { model: this.name, changed, message, status: this.status() };
  }

  status(): ModelStatus {
    const slot = (name: SlotName): SlotStatus | null => {
      const model = this.slots[name].model;
      if (model) return { state: 'serving', ...model.ref, loadedAt: model.loadedAt, inFlight: model.inFlight };
      const failed = this.failed[name];
      if (failed) return { state: 'failed', ...failed.ref, loadedAt: null, inFlight: 0, error: failed.error };
      return null;
    };
    return {
      name: this.name,
      canaryWeight: this.canaryWeight,
      shadow: this.shadow,
      slots: { stable: slot('stable'), canary: slot('canary') },
      previousStable: this.previousStable ?? null,
      draining: this.draining,
    };
  }
}
