import type { Manifest } from '../../bundle/manifest.js';
import { ServingConflictError } from '../../errors/index.js';
import type { BundleRef } from './loaded-model.js';
import type { SlotName } from './model-slot.js';
import type { PersistedModel } from './state-store.js';

// Rules the catalog applies between a model's two slots and what it persists.

export const describeRef = (ref: BundleRef) => `${ref.name}@${ref.version} (${ref.digest})`;
export const other = (slot: SlotName): SlotName => (slot === 'stable' ? 'canary' : 'stable');
export const sameBundle = (a: BundleRef, b: BundleRef) => a.bundleDir === b.bundleDir && a.reference === b.reference && a.digest === b.digest && a.version === b.version && a.kid === b.kid;

export function dropUndefined(record: PersistedModel): PersistedModel {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as unknown as PersistedModel;
}

/** A canary must take the stable's inputs (same names and element types), or routing and shadow runs would fail. */
export function checkCompatible(incoming: Manifest, counterpart: Manifest, slot: SlotName): void {
  const describe = (m: Manifest) => m.signature.inputs.map((i) => `${i.name}:${i.type}`).sort().join(', ');
  if (describe(incoming) !== describe(counterpart)) {
    throw new ServingConflictError(
      `${incoming.name}@${incoming.version} takes inputs (${describe(incoming)}), but the ${other(slot)} slot's ${counterpart.version} takes (${describe(counterpart)}); both slots must take the same inputs`,
    );
  }
}
