import type { LoadedModel } from './loaded-model.js';

export type SlotName = 'stable' | 'canary';
export const SLOT_NAMES: readonly SlotName[] = ['stable', 'canary'];

/** A model taken for one request: run on `model`, then call `release` exactly once. */
export interface Lease {
  readonly model: LoadedModel;
  readonly release: () => void;
}

/**
 * One slot of a named model: a single reference to the loaded model serving it.
 *
 * Swapping is one assignment. A request takes its lease in the same synchronous step that reads
 * the reference, so it either gets the old model (and keeps it until it is done) or the new one;
 * nothing in between exists. The model swapped out is retired by the caller and releases its
 * session when its last lease comes back.
 */
export class ModelSlot {
  private current: LoadedModel | undefined;

  get model(): LoadedModel | undefined {
    return this.current;
  }

  lease(): Lease | undefined {
    const model = this.current;
    if (!model) return undefined;
    return { model, release: model.acquire() };
  }

  /** Points the slot at `next` (or empties it) and returns what it held; the caller retires that. */
  set(next: LoadedModel | undefined): LoadedModel | undefined {
    const previous = this.current;
    this.current = next;
    return previous;
  }
}
