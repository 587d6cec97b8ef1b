import { join } from 'node:path';
import { mkdir, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { pathExists } from '../../path-exists.js';
import { hexOf } from '../../oci/descriptor.js';
import { parseReference } from '../../oci/reference.js';
import type { BundleStore } from '../../store/bundle-store.js';
import { parseDeployTarget, type DeployTarget } from './deploy-target.js';
import type { Logger } from '../../logger.js';
import { ModelshipError, errorMessage } from '../../errors.js';
import type { Manifest } from '../../bundle/manifest.js';
import { BundleRefusedError, BundleStoreUnavailableError, InvalidRequestError, ServingConflictError, StatePersistError, UnknownModelError } from '../errors.js';
import { openModel, verifyForServing, type BundleRef, type LoadedModel, type SessionOptions, type VerifiedBundle } from './loaded-model.js';
import { ModelSlot, SLOT_NAMES, type SlotName } from './model-slot.js';
import { ModelObservations } from '../dataplane/observations.js';
import type { ServingMetrics } from '../metrics.js';
import type { PersistedModel, PersistedState, StateStore } from './state-store.js';
import { KeyedMutex, Mutex } from './mutex.js';
import { inSpan } from '../../tracing/spans.js';

/** Model names: what may appear in a URL path segment and a metric label without surprises. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

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

export interface CatalogDeps {
  readonly store: StateStore;
  readonly trustedKeysDir: string;
  /** Where deploys by reference are pulled from, into `pullRoot` (the runtime's own copies, on its disk). */
  readonly bundles?: { readonly store: BundleStore; readonly pullRoot: string };
  readonly metrics: ServingMetrics;
  readonly logger: Logger;
  readonly observationsCapacity: number;
  readonly session: SessionOptions;
}

const describeRef = (ref: BundleRef) => `${ref.name}@${ref.version} (${ref.digest})`;
const other = (slot: SlotName): SlotName => (slot === 'stable' ? 'canary' : 'stable');
const sameBundle = (a: BundleRef, b: BundleRef) => a.bundleDir === b.bundleDir && a.reference === b.reference && a.digest === b.digest && a.version === b.version && a.kid === b.kid;

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

  constructor(private readonly deps: CatalogDeps) {}

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
          const verified = await this.verify(ref.reference ? { reference: ref.reference } : { bundleDir: ref.bundleDir }, { reuse: true });
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
   * there is a no-op. `target` is the admin body (`{ reference }` or `{ bundleDir }`), or a folder
   * path. Traced as `deploy` (under the caller's traceparent); a refusal is counted in
   * modelship_bundles_refused_total by error type.
   */
  async deploy(name: string, slot: SlotName, target: unknown): Promise<AdminResult> {
    const named = typeof target === 'object' && target !== null ? ((target as Record<string, unknown>).reference ?? (target as Record<string, unknown>).bundleDir) : target;
    const attributes = { 'modelship.model': name, 'modelship.slot': slot, 'modelship.bundle_dir': String(named) };
    return inSpan('deploy', attributes, () => this.deployBundle(name, slot, target)).catch((err: unknown) => {
      const reason = err instanceof Error && 'type' in err && typeof err.type === 'string' ? err.type : 'Error';
      this.deps.metrics.bundleRefused(MODEL_NAME_PATTERN.test(name) ? name : '', slot, reason);
      throw err;
    });
  }

  private async deployBundle(name: string, slot: SlotName, target: unknown): Promise<AdminResult> {
    if (!MODEL_NAME_PATTERN.test(name)) throw new InvalidRequestError(`model name ${JSON.stringify(name)} must match ${MODEL_NAME_PATTERN}`);
    const wanted = parseDeployTarget(typeof target === 'object' && target !== null && !Array.isArray(target) ? (target as Record<string, unknown>) : { bundleDir: target });
    const where = 'reference' in wanted ? wanted.reference : wanted.bundleDir;
    return this.locks.run(name, async () => {
      this.checkOpen();
      const existing = this.models.get(name);
      const current = existing?.slots[slot].model;
      // A retried deploy of the reference a slot serves changes nothing and needs no registry.
      if (current && 'reference' in wanted && current.ref.reference === wanted.reference) {
        return this.result(existing, false, `${slot} already serves ${describeRef(current.ref)} (${wanted.reference}); nothing to do`);
      }
      const verified = await this.verify(wanted);
      if (verified.ref.name !== name) throw new ServingConflictError(`${where} is a release of ${verified.ref.name}, not of ${name}`);
      if (current && sameBundle(current.ref, verified.ref)) {
        return this.result(existing, false, `${slot} already serves ${describeRef(current.ref)} from ${where}; nothing to do`);
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
      return this.result(entry, true, `${slot} now serves ${describeRef(model.ref)}${replaced ? `, replacing ${replaced.version}` : ''}`);
    });
  }

  async setWeight(name: string, weight: unknown): Promise<AdminResult> {
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 100) {
      throw new InvalidRequestError(`canaryWeight must be a number from 0 to 100, got ${JSON.stringify(weight)}`);
    }
    return this.locks.run(name, async () => {
      const entry = this.require(name);
      if (entry.canaryWeight === weight) return this.result(entry, false, `canary weight is already ${weight}`);
      if (weight > 0 && !entry.slots.canary.model) throw new ServingConflictError(`${name} has no canary loaded; deploy one before giving it traffic`);
      const before = entry.canaryWeight;
      await this.commit(entry, { ...entry.persisted(), canaryWeight: weight }, () => {
        entry.canaryWeight = weight;
        this.deps.metrics.setCanaryWeight(name, weight);
      });
      this.deps.logger.info({ model: name, canaryWeight: weight, before }, 'canary weight set');
      return this.result(entry, true, `canary weight ${before} → ${weight}`);
    });
  }

  async setShadow(name: string, enabled: unknown): Promise<AdminResult> {
    if (typeof enabled !== 'boolean') throw new InvalidRequestError(`enabled must be true or false, got ${JSON.stringify(enabled)}`);
    return this.locks.run(name, async () => {
      const entry = this.require(name);
      if (entry.shadow === enabled) return this.result(entry, false, `shadow mode is already ${enabled ? 'on' : 'off'}`);
      await this.commit(entry, { ...entry.persisted(), shadow: enabled }, () => {
        entry.shadow = enabled;
      });
      this.deps.logger.info({ model: name, shadow: enabled }, 'shadow mode set');
      const note = enabled && !entry.slots.canary.model ? ' (no canary loaded yet: shadow runs start when one is)' : '';
      return this.result(entry, true, `shadow mode ${enabled ? 'on' : 'off'}${note}`);
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
      return this.result(entry, true, `promoted ${describeRef(canary.ref)} to stable${oldStable ? `; ${oldStable.version} kept as previousStable` : ''}`);
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
        return this.result(entry, true, `canary ${describeRef(canary)} removed, weight 0; stable ${stable ? stable.version : '(none)'} untouched`);
      }
      const previous = entry.previousStable;
      if (!previous) throw new ServingConflictError(`${name} has nothing to roll back: no canary and no previous stable`);
      const verified = await this.verify(previous.reference ? { reference: previous.reference } : { bundleDir: previous.bundleDir }, { reuse: true });
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
      return this.result(entry, true, `stable restored to ${describeRef(model.ref)}${replaced ? `, replacing ${replaced.version}` : ''}`);
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

  /**
   * The bundle a target names, verified under the trusted keys and policy. A reference is pulled
   * into this runtime's own folder first (every blob and referrer checked against its digest,
   * blobs through the local cache); with `reuse` (restart, rollback) a copy already pulled is
   * verified as it is and the registry is asked only when that copy is gone or fails.
   */
  private async verify(target: DeployTarget, options: { reuse?: boolean } = {}): Promise<VerifiedBundle> {
    if ('bundleDir' in target) return verifyForServing(target.bundleDir, this.deps.trustedKeysDir);
    const dir = this.pulledDir(target.reference);
    if (options.reuse && (await pathExists(dir))) {
      try {
        return withReference(await verifyForServing(dir, this.deps.trustedKeysDir), target.reference);
      } catch (err) {
        this.deps.logger.warn({ reference: target.reference, bundleDir: dir, err: errorMessage(err) }, 'the pulled copy no longer verifies: pulling it again');
      }
    }
    await this.pull(target.reference, dir);
    return withReference(await verifyForServing(dir, this.deps.trustedKeysDir), target.reference);
  }

  private pulledDir(reference: string): string {
    const bundles = this.requireBundles(reference);
    const digest = parseReference(reference).digest!;
    return join(bundles.pullRoot, hexOf(digest));
  }

  private requireBundles(reference: string): NonNullable<CatalogDeps['bundles']> {
    if (!this.deps.bundles) throw new InvalidRequestError(`this serving runtime has no bundle store configured, so it cannot pull ${reference}: set MODELSHIP_STORE (and credentials) for it, or deploy a bundleDir on its host`);
    return this.deps.bundles;
  }

  /** Pulls into a fresh folder beside `dir` and renames it into place, so a failed pull never leaves a half bundle where a restart looks. */
  private async pull(reference: string, dir: string): Promise<void> {
    const bundles = this.requireBundles(reference);
    const staging = `${dir}.pull-${randomBytes(4).toString('hex')}`;
    await mkdir(bundles.pullRoot, { recursive: true });
    try {
      const pulled = await bundles.store.pullBundle(reference, staging);
      await rm(dir, { recursive: true, force: true });
      await rename(pulled.bundleDir, dir);
      this.deps.logger.info({ reference, bundleDir: dir, bytesFetched: pulled.bytesFetched, bytesFromCache: pulled.bytesFromCache }, 'bundle pulled');
    } catch (err) {
      throw pullFailure(reference, err);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  private require(name: string): ModelEntry {
    const entry = this.models.get(name);
    if (!entry) throw new UnknownModelError(`no model named ${JSON.stringify(name)}`);
    return entry;
  }

  private checkOpen(): void {
    if (this.closed) throw new ServingConflictError('the serving runtime is shutting down');
  }

  private result(entry: ModelEntry, changed: boolean, message: string): AdminResult {
    return { model: entry.name, changed, message, status: entry.status() };
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

function withReference(verified: VerifiedBundle, reference: string): VerifiedBundle {
  return { ...verified, ref: { ...verified.ref, reference } };
}

/**
 * A pull that failed: the registry unreachable is worth a retry (the slot keeps serving what it
 * has); bytes that do not match their digest, a missing part or not a model are refused, naming
 * what failed.
 */
function pullFailure(reference: string, err: unknown): Error {
  if (err instanceof ModelshipError && err.retryable) return new BundleStoreUnavailableError(`cannot pull ${reference} now: ${err.message}`, { cause: err });
  if (err instanceof ModelshipError) return new BundleRefusedError(`bundle ${reference} refused: pull: ${err.type}: ${err.message}`, [{ check: 'files', ok: false, detail: `${err.type}: ${err.message}` }]);
  return new BundleStoreUnavailableError(`cannot pull ${reference} now: ${errorMessage(err)}`, { cause: err });
}

function dropUndefined(record: PersistedModel): PersistedModel {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as unknown as PersistedModel;
}

/** A canary must take the stable's inputs (same names and element types), or routing and shadow runs would fail. */
function checkCompatible(incoming: Manifest, counterpart: Manifest, slot: SlotName): void {
  const describe = (m: Manifest) => m.signature.inputs.map((i) => `${i.name}:${i.type}`).sort().join(', ');
  if (describe(incoming) !== describe(counterpart)) {
    throw new ServingConflictError(
      `${incoming.name}@${incoming.version} takes inputs (${describe(incoming)}), but the ${other(slot)} slot's ${counterpart.version} takes (${describe(counterpart)}); both slots must take the same inputs`,
    );
  }
}
