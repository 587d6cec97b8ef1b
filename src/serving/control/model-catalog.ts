import type { Logger } from '../../logger.js';
import { InvalidRequestError, ServingConflictError, StatePersistError, UnknownModelError, errorMessage } from '../../errors/index.js';
import type { Manifest } from '../../bundle/manifest.js';
import { inSpan } from '../../tracing/spans.js';
import type { ServingMetrics } from '../metrics.js';
import { BundleSource, type BundleSourceDeps } from './bundle-source.js';
import type { DeployTarget } from './deploy-target.js';
import { openModel, type BundleRef, type LoadedModel, type SessionOptions } from './loaded-model.js';
import { ModelEntry, type AdminResult, type ModelStatus } from './model-entry.js';
import { SLOT_NAMES, type SlotName } from './model-slot.js';
import type { PersistedModel, PersistedState, StateStore } from './state-store.js';
import { KeyedMutex, Mutex } from './mutex.js';
import { checkCompatible, describeRef, dropUndefined, other, sameBundle } from './slot-rules.js';
import { countRefusedDeploy, MODEL_NAME_PATTERN } from './model-names.js';

export type { AdminResult, ModelStatus, SlotStatus } from './model-entry.js';

export interface CatalogDeps extends BundleSourceDeps {
  readonly store: StateStore;
  readonly metrics: ServingMetrics;
  readonly logger: Logger;
  readonly observationsCapacity: number;
  readonly session: SessionOptions;
}

/**
 * The named models and every change to them. Changes to one model run one at a time (a per-name
 * lock held through verification and loading); the commit of any change (write the whole state
 * file, then apply in memory) runs under one global lock, so the file always equals memory and
 * a change that cannot be persisted is not made.
 */
export class ModelCatalog {
  private readonly models = new Map<string, ModelEntry>();
  private readonly locks = new KeyedMutex();
  private readonly commitLock = new Mutex();
  private readonly drains = new Set<Promise<void>>();
  private closed = false;
  private readonly source: BundleSource;

  constructor(private readonly deps: CatalogDeps) {
    this.source = new BundleSource(deps);
  }

  get(name: string): ModelEntry | undefined {
    return this.models.get(name);
  }

  status(name: string): ModelStatus {
    return this.require(name).status();
  }

  statusAll(): ModelStatus[] {
    return [...this.models.keys()].sort().map((name) => this.models.get(name)!.status());
  }

  /** Loads what the state file recorded. Every bundle is verified again; one that fails leaves its slot `failed`, and the rest still serve. */
  async restore(state: PersistedState): Promise<void> {
    for (const [name, record] of Object.entries(state.models)) {
      const entry = new ModelEntry(name, this.deps.observationsCapacity);
      entry.canaryWeight = record.canaryWeight;
      entry.shadow = record.shadow;
      entry.previousStable = record.previousStable;
      this.models.set(name, entry);
      this.deps.metrics.initModel(name);
      this.deps.metrics.setCanaryWeight(name, entry.canaryWeight);
      for (const slot of SLOT_NAMES) {
        const ref = record[slot];
        if (!ref) continue;
        try {
          const verified = await this.source.verify(ref.reference ? { reference: ref.reference } : { bundleDir: ref.bundleDir }, { reuse: true });
          if (verified.ref.name !== name) throw new Error(`the bundle is now ${describeRef(verified.ref)}, not a release of ${name}`);
          if (verified.ref.digest !== ref.digest || verified.ref.version !== ref.version) {
            throw new Error(`the bundle now holds ${describeRef(verified.ref)}, not the recorded ${describeRef(ref)}`);
          }
          const model = await openModel(verified, this.deps.session);
          entry.slots[slot].set(model);
          this.deps.metrics.setSlot(name, slot, model.ref);
          this.deps.logger.info({ model: name, slot, version: ref.version, digest: ref.digest, bundleDir: ref.bundleDir, reference: ref.reference }, 'restored slot');
        } catch (err) {
          entry.failed[slot] = { ref, error: errorMessage(err) };
          this.deps.logger.error({ model: name, slot, bundleDir: ref.bundleDir, err: errorMessage(err) }, 'cannot restore slot: it stays empty until a new deploy');
        }
      }
    }
  }

  /**
   * Verifies, loads and warms a bundle, then swaps it into the slot. Deploying the bundle already
   * there is a no-op. Traced as `deploy` (under the caller's traceparent); a refusal is counted in
   * modelship_bundles_refused_total by error type.
   */
  async deploy(name: string, slot: SlotName, target: DeployTarget): Promise<AdminResult> {
    const where = 'reference' in target ? target.reference : target.bundleDir;
    const attributes = { 'modelship.model': name, 'modelship.slot': slot, 'modelship.bundle_dir': where };
    return inSpan('deploy', attributes, () => this.deployBundle(name, slot, target, where)).catch((err: unknown) => {
      countRefusedDeploy(this.deps.metrics, name, slot, err);
      throw err;
    });
  }

  private async deployBundle(name: string, slot: SlotName, wanted: DeployTarget, where: string): Promise<AdminResult> {
    if (!MODEL_NAME_PATTERN.test(name)) throw new InvalidRequestError(`model name ${JSON.stringify(name)} must match ${MODEL_NAME_PATTERN}`);
    return this.locks.run(name, async () => {
      this.checkOpen();
      const existing = this.models.get(name);
      const current = existing?.slots[slot].model;
      // A retried deploy of the reference a slot serves changes nothing and needs no pull.
      if (current && 'reference' in wanted && current.ref.reference === wanted.reference) {
        return existing!.result(false, `${slot} already serves ${describeRef(current.ref)} (${wanted.reference}); nothing to do`);
      }
      const verified = await this.source.verify(wanted);
      if (verified.ref.name !== name) throw new ServingConflictError(`${where} is a release of ${verified.ref.name}, not of ${name}`);
      if (current && sameBundle(current.ref, verified.ref)) {
        return existing!.result(false, `${slot} already serves ${describeRef(current.ref)} from ${where}; nothing to do`);
      }
      const counterpart = existing?.slots[other(slot)].model;
      if (counterpart) checkCompatible(verified.manifest, counterpart.manifest, slot);
      const model = await openModel(verified, this.deps.session);
      const entry = existing ?? new ModelEntry(name, this.deps.observationsCapacity);
      const replaced = entry.refOf(slot);
      const next = entry.persisted();
      next[slot] = model.ref;
      if (slot === 'stable' && current) next.previousStable = current.ref;
      try {
        await this.commit(entry, next, () => {
          if (slot === 'stable' && current) entry.previousStable = current.ref;
          delete entry.failed[slot];
          this.retire(entry, entry.slots[slot].set(model));
          this.deps.metrics.setSlot(name, slot, model.ref);
        });
      } catch (err) {
        void model.retire();
        throw err;
      }
      this.deps.logger.info({ model: name, slot, version: model.ref.version, digest: model.ref.digest, kid: model.ref.kid, bundleDir: model.ref.bundleDir, reference: model.ref.reference, replaced: replaced?.version }, 'deployed');
      return entry.result(true, `${slot} now serves ${describeRef(model.ref)}${replaced ? `, replacing ${replaced.version}` : ''}`);
    });
  }

  async setWeight(name: string, weight: number): Promise<AdminResult> {
    if (!Number.isFinite(weight) || weight < 0 || weight > 100) {
      throw new InvalidRequestError(`canaryWeight must be a number from 0 to 100, got ${JSON.stringify(weight)}`);
    }
    return this.locks.run(name, async () => {
      const entry = this.require(name);
      if (entry.canaryWeight === weight) return entry.result(false, `canary weight is already ${weight}`);
      if (weight > 0 && !entry.slots.canary.model) throw new ServingConflictError(`${name} has no canary loaded; deploy one before giving it traffic`);
      const before = entry.canaryWeight;
      await this.commit(entry, { ...entry.persisted(), canaryWeight: weight }, () => {
        entry.canaryWeight = weight;
        this.deps.metrics.setCanaryWeight(name, weight);
      });
      this.deps.logger.info({ model: name, canaryWeight: weight, before }, 'canary weight set');
      return entry.result(true, `canary weight ${before} → ${weight}`);
    });
  }

  async setShadow(name: string, enabled: boolean): Promise<AdminResult> {
    return this.locks.run(name, async () => {
      const entry = this.require(name);
      if (entry.shadow === enabled) return entry.result(false, `shadow mode is already ${enabled ? 'on' : 'off'}`);
      await this.commit(entry, { ...entry.persisted(), shadow: enabled }, () => {
        entry.shadow = enabled;
      });
      this.deps.logger.info({ model: name, shadow: enabled }, 'shadow mode set');
      const note = enabled && !entry.slots.canary.model ? ' (no canary loaded yet: shadow runs start when one is)' : '';
      return entry.result(true, `shadow mode ${enabled ? 'on' : 'off'}${note}`);
    });
  }

  /** The canary becomes the stable (the same loaded session: no reload), the canary slot empties, weight 0; the old stable is kept as previousStable. */
  async promote(name: string): Promise<AdminResult> {
    return this.locks.run(name, async () => {
      const entry = this.require(name);
      const canary = entry.slots.canary.model;
      if (!canary) throw new ServingConflictError(`${name} has no canary loaded to promote`);
      const oldStable = entry.refOf('stable');
      const next: PersistedModel = { canaryWeight: 0, shadow: entry.shadow, stable: canary.ref };
      const previousStable = oldStable ?? entry.previousStable;
      if (previousStable) next.previousStable = previousStable;
      await this.commit(entry, next, () => {
        const old = entry.slots.stable.set(canary);
        entry.slots.canary.set(undefined);
        delete entry.failed.stable;
        delete entry.failed.canary;
        entry.previousStable = previousStable;
        entry.canaryWeight = 0;
        this.retire(entry, old);
        this.deps.metrics.setSlot(name, 'stable', canary.ref);
        this.deps.metrics.setSlot(name, 'canary', undefined);
        this.deps.metrics.setCanaryWeight(name, 0);
      });
      this.deps.logger.info({ model: name, version: canary.ref.version, previous: oldStable?.version }, 'canary promoted');
      return entry.result(true, `promoted ${describeRef(canary.ref)} to stable${oldStable ? `; ${oldStable.version} kept as previousStable` : ''}`);
    });
  }

  /**
   * With a canary: weight 0 and the canary slot cleared, stable untouched. Without one: the
   * previousStable bundle is verified, loaded and swapped back into stable (and previousStable is
   * cleared, so a second rollback does not flip forward again).
   */
  async rollback(name: string): Promise<AdminResult> {
    return this.locks.run(name, async () => {
      const entry = this.require(name);
      const canary = entry.refOf('canary');
      if (canary) {
        await this.commit(entry, { ...entry.persisted(), canary: undefined, canaryWeight: 0 }, () => {
          this.retire(entry, entry.slots.canary.set(undefined));
          delete entry.failed.canary;
          entry.canaryWeight = 0;
          this.deps.metrics.setSlot(name, 'canary', undefined);
          this.deps.metrics.setCanaryWeight(name, 0);
        });
        this.deps.logger.info({ model: name, canary: canary.version }, 'canary rolled back');
        const stable = entry.refOf('stable');
        return entry.result(true, `canary ${describeRef(canary)} removed, weight 0; stable ${stable ? stable.version : '(none)'} untouched`);
      }
      const previous = entry.previousStable;
      if (!previous) throw new ServingConflictError(`${name} has nothing to roll back: no canary and no previous stable`);
      const verified = await this.source.verify(previous.reference ? { reference: previous.reference } : { bundleDir: previous.bundleDir }, { reuse: true });
      if (verified.ref.name !== name || verified.ref.digest !== previous.digest || verified.ref.version !== previous.version) {
        throw new ServingConflictError(`the previous stable bundle ${previous.reference ?? previous.bundleDir} now holds ${describeRef(verified.ref)}, not ${describeRef(previous)}`);
      }
      const model = await openModel(verified, this.deps.session);
      const replaced = entry.refOf('stable');
      const next: PersistedModel = { ...entry.persisted(), stable: model.ref, previousStable: undefined, canaryWeight: 0 };
      try {
        await this.commit(entry, next, () => {
          this.retire(entry, entry.slots.stable.set(model));
          delete entry.failed.stable;
          entry.previousStable = undefined;
          entry.canaryWeight = 0;
          this.deps.metrics.setSlot(name, 'stable', model.ref);
          this.deps.metrics.setCanaryWeight(name, 0);
        });
      } catch (err) {
        void model.retire();
        throw err;
      }
      this.deps.logger.info({ model: name, restored: model.ref.version, replaced: replaced?.version }, 'stable rolled back to the previous release');
      return entry.result(true, `stable restored to ${describeRef(model.ref)}${replaced ? `, replacing ${replaced.version}` : ''}`);
    });
  }

  /** Empties every slot; resolves once each model's last request finished and its session is released. */
  async close(): Promise<void> {
    this.closed = true;
    await this.commitLock.run(async () => {
      for (const entry of this.models.values()) for (const slot of SLOT_NAMES) this.retire(entry, entry.slots[slot].set(undefined));
    });
    await Promise.all(this.drains);
  }

  private require(name: string): ModelEntry {
    const entry = this.models.get(name);
    if (!entry) throw new UnknownModelError(`no model named ${JSON.stringify(name)}`);
    return entry;
  }

  private checkOpen(): void {
    if (this.closed) throw new ServingConflictError('the serving runtime is shutting down');
  }

  /** Writes the state with `next` for this model, then (only if that worked) applies the change in memory. */
  private async commit(entry: ModelEntry, next: PersistedModel, apply: () => void): Promise<void> {
    await this.commitLock.run(async () => {
      this.checkOpen();
      const all: Record<string, PersistedModel> = {};
      for (const [name, e] of this.models) all[name] = e.persisted();
      all[entry.name] = dropUndefined(next);
      try {
        await this.deps.store.save(all);
      } catch (err) {
        throw new StatePersistError(`cannot write the serving state (${errorMessage(err)}); nothing was changed`);
      }
      if (!this.models.has(entry.name)) {
        this.models.set(entry.name, entry);
        this.deps.metrics.initModel(entry.name);
      }
      apply();
    });
  }

  /** Lets a swapped-out model finish its requests, then releases its session. */
  private retire(entry: ModelEntry, model: LoadedModel | undefined): void {
    if (!model || SLOT_NAMES.some((s) => entry.slots[s].model === model)) return;
    entry.draining++;
    const drained = model.retire().then(() => {
      entry.draining--;
      this.drains.delete(drained);
      this.deps.logger.debug({ model: entry.name, version: model.ref.version }, 'session released after draining');
    });
    this.drains.add(drained);
  }
}
