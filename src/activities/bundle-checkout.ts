import { Context } from '@temporalio/activity';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ManifestError, StoreNotConfiguredError } from '../errors/index.js';
import { hexOf } from '../oci/descriptor.js';
import { BUNDLE_MANIFEST, bundlePaths } from '../bundle/layout.js';
import { parseReference } from '../oci/reference.js';
import { parseManifest as parseImageManifest } from '../oci/manifest.js';
import { ANNOTATION_FILEPATH } from '../oci/media-types.js';
import type { BundlePart } from '../oci/media-types.js';
import type { StoredBundle } from '../store/bundle-store.js';
import type { ActivityDeps, WorkerBundleStore } from './deps.js';
import { throttledHeartbeat } from './heartbeat.js';

const PULL_HEARTBEAT_MS = 2_000;

/** What a stage's pull moved: bytes fetched from the store, bytes this host's blob cache already held. */
export interface PullFigures {
  readonly bytesFetched: number;
  readonly bytesFromCache: number;
}


export function requireStore(deps: ActivityDeps): WorkerBundleStore {
  if (!deps.store) throw new StoreNotConfiguredError('this worker has no bundle store: set MODELSHIP_STORE (or MODELSHIP_HOME, whose default store folder it uses)');
  return deps.store;
}

/**
 * A private working folder for one activity attempt, removed when `work` settles: never shared
 * between attempts (a zombie attempt on this host cannot write into a retry's files).
 */
async function withWorkDir<T>(store: WorkerBundleStore, bundle: StoredBundle, work: (dir: string) => Promise<T>): Promise<T> {
  const info = Context.current().info;
  const dir = join(store.workRoot, `${hexOf(bundle.manifest.digest).slice(0, 16)}-${info.activityId}-${info.attempt}-${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs a stage on the bundle pulled from the store (model files through this worker's blob cache,
 * so a second stage on the same host fetches nothing again; every digest checked) with the
 * bundle parts it needs, laid out as src/bundle/layout.ts says, so the stage's code is the same
 * as for a bundle folder.
 */
export async function onPulledBundle<T>(deps: ActivityDeps, bundle: StoredBundle, parts: readonly BundlePart[], stage: (dir: string, pulled: PullFigures) => Promise<T>): Promise<T> {
  const store = requireStore(deps);
  const ctx = Context.current();
  const heartbeat = throttledHeartbeat();
  // The pull's heartbeats carry the previous attempt's details forward (a stage's checkpoint,
  // e.g. hashing's): an attempt that dies while pulling must not leave the next one nothing to
  // resume from. A timer beats too, because a cache copy of a large file reports no progress.
  const previous = ctx.info.heartbeatDetails as unknown;
  let bytes = 0;
  const details = () => (previous !== null && typeof previous === 'object' ? { ...previous, pull: { bytes } } : { step: 'pull', bytes });
  return withWorkDir(store, bundle, async (dir) => {
    const timer = setInterval(() => heartbeat(details(), true), PULL_HEARTBEAT_MS);
    let pulled: Awaited<ReturnType<WorkerBundleStore['bundles']['pullBundle']>>;
    try {
      pulled = await store.bundles.pullBundle(bundle.reference, dir, {
        parts,
        signal: ctx.cancellationSignal,
        onProgress: (n) => {
          bytes = n;
          heartbeat(details());
        },
      });
    } finally {
      clearInterval(timer);
    }
    ctx.log.info('bundle pulled', { reference: bundle.reference, bytesFetched: pulled.bytesFetched, bytesFromCache: pulled.bytesFromCache });
    return stage(pulled.bundleDir, { bytesFetched: pulled.bytesFetched, bytesFromCache: pulled.bytesFromCache });
  });
}

/**
 * Runs a stage that needs only model.yaml (sign, attest): the manifest part is read from the
 * store (verified) into a working folder of its own; the model files are not fetched.
 */
export async function onManifestOnly<T>(deps: ActivityDeps, bundle: StoredBundle, stage: (dir: string) => Promise<T>): Promise<T> {
  const store = requireStore(deps);
  return withWorkDir(store, bundle, async (dir) => {
    const manifest = await store.bundles.readPart(bundle.reference, 'manifest');
    if (!manifest) throw new ManifestError(`${bundle.reference} has no model.yaml attached: the hash stage attaches it`);
    await writeFile(join(dir, BUNDLE_MANIFEST), manifest);
    return stage(dir);
  });
}

/** Attaches the file a stage wrote (model.yaml, model.jws, an attestation) to the model in the store. */
export async function attachFile(deps: ActivityDeps, bundle: StoredBundle, part: BundlePart, path: string): Promise<StoredBundle> {
  return requireStore(deps).bundles.attach(bundle.reference, part, await readFile(path));
}

/**
 * Puts the model files export just pushed into this host's blob cache, so the stages that follow
 * on this host fetch nothing from the store.
 */
export async function seedBlobCache(store: WorkerBundleStore, bundle: StoredBundle, bundleDir: string, signal?: AbortSignal): Promise<void> {
  const cache = store.bundles.cache;
  const target = store.bundles.target(parseReference(bundle.reference));
  const manifest = parseImageManifest(await target.fetch(bundle.manifest), bundle.reference);
  for (const layer of manifest.layers) {
    const filePath = layer.annotations?.[ANNOTATION_FILEPATH];
    if (!filePath || (await cache.has(layer))) continue;
    // Linked (not copied) into the cache, and not hashed again: export hashed these very files
    // for model.yaml, and the cache re-hashes every blob before it is used.
    signal?.throwIfAborted();
    await cache.adopt(layer, join(bundlePaths(bundleDir).modelDir, filePath), `model/${filePath}`);
  }
}
