import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ServingConfigError, errorMessage } from '../../errors/index.js';
import type { BundleRef } from './loaded-model.js';

export const STATE_FILE = 'serving-state.json';
export const LOCK_FILE = 'serving.lock';
export const STATE_FORMAT = 'modelship-serving-state/v1';

/** What a model's slots hold, as written to disk. Only references: the bundles are re-verified at start (pulled again when the runtime's copy is gone). */
export interface PersistedModel {
  stable?: BundleRef;
  canary?: BundleRef;
  canaryWeight: number;
  shadow: boolean;
  previousStable?: BundleRef;
}

export interface PersistedState {
  readonly format: typeof STATE_FORMAT;
  readonly updatedAt: string;
  readonly models: Record<string, PersistedModel>;
}

/**
 * The serving state file, `<stateDir>/serving-state.json`. Every write goes to a temp file that
 * is fsynced and renamed over the old one (then the directory is fsynced), so a crash leaves
 * either the old state or the new one, never a mix. Writes are queued: one at a time, in order.
 */
export class StateStore {
  readonly path: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly stateDir: string) {
    this.path = join(stateDir, STATE_FILE);
  }

  /** The saved state; an empty one when there is no file yet. A damaged file stops the start (never silently reset). */
  async load(): Promise<PersistedState> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { format: STATE_FORMAT, updatedAt: new Date(0).toISOString(), models: {} };
      throw new ServingConfigError(`cannot read the serving state ${this.path}: ${errorMessage(err)}`);
    }
    try {
      return checkState(JSON.parse(text));
    } catch (err) {
      throw new ServingConfigError(`the serving state ${this.path} is damaged (${errorMessage(err)}); fix or remove it`);
    }
  }

  save(models: Record<string, PersistedModel>): Promise<void> {
    const state: PersistedState = { format: STATE_FORMAT, updatedAt: new Date().toISOString(), models };
    const text = JSON.stringify(state, null, 2) + '\n';
    const write = this.queue.then(() => writeDurably(this.path, text));
    this.queue = write.catch(() => undefined);
    return write;
  }

  /** Settles when every queued write has. */
  async flush(): Promise<void> {
    await this.queue;
  }
}

async function writeDurably(path: string, text: string): Promise<void> {
  const dir = join(path, '..');
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some filesystems cannot fsync a directory; the rename is still atomic.
  } finally {
    await handle.close();
  }
}

function checkState(value: unknown): PersistedState {
  const state = value as PersistedState;
  if (typeof state !== 'object' || state === null) throw new Error('not a JSON object');
  if (state.format !== STATE_FORMAT) throw new Error(`format is ${JSON.stringify(state.format)}, expected ${STATE_FORMAT}`);
  if (typeof state.models !== 'object' || state.models === null || Array.isArray(state.models)) throw new Error('models must be an object');
  for (const [name, model] of Object.entries(state.models)) {
    if (typeof model !== 'object' || model === null) throw new Error(`models.${name} must be an object`);
    if (typeof model.canaryWeight !== 'number' || !(model.canaryWeight >= 0 && model.canaryWeight <= 100)) throw new Error(`models.${name}.canaryWeight must be 0-100`);
    if (typeof model.shadow !== 'boolean') throw new Error(`models.${name}.shadow must be a boolean`);
    for (const slot of ['stable', 'canary', 'previousStable'] as const) {
      const ref = model[slot];
      if (ref === undefined) continue;
      for (const field of ['bundleDir', 'name', 'version', 'digest', 'kid'] as const) {
        if (typeof ref?.[field] !== 'string') throw new Error(`models.${name}.${slot}.${field} must be a string`);
      }
      if (ref.reference !== undefined && typeof ref.reference !== 'string') throw new Error(`models.${name}.${slot}.reference must be a string`);
    }
  }
  return state;
}

/**
 * Takes `<stateDir>/serving.lock` so two runtimes never write the same state. A lock left by a
 * process that is gone (same host) is taken over. Returns the release function.
 */
export async function lockStateDir(stateDir: string): Promise<() => Promise<void>> {
  await mkdir(stateDir, { recursive: true });
  const path = join(stateDir, LOCK_FILE);
  const mine = JSON.stringify({ pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex') });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, 'wx', 0o600);
      await file.writeFile(mine);
      await file.close();
      return async () => {
        const current = await readFile(path, 'utf8').catch(() => '');
        if (current === mine) await unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ServingConfigError(`cannot lock the state directory ${stateDir}: ${errorMessage(err)}`);
      const holder = await readFile(path, 'utf8').then((t) => JSON.parse(t) as { pid?: number; host?: string }).catch(() => ({}) as { pid?: number; host?: string });
      if (holder.host === hostname() && typeof holder.pid === 'number' && !isAlive(holder.pid)) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      throw new ServingConfigError(`the state directory ${stateDir} is in use by another serving runtime (${path}: pid ${holder.pid ?? '?'} on ${holder.host ?? '?'})`);
    }
  }
  throw new ServingConfigError(`cannot lock the state directory ${stateDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
