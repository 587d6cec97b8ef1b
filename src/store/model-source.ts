import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelSourceError } from '../errors/index.js';
import { LAYOUT_SCHEME, looksLikeReference } from '../oci/reference.js';
import type { BundleStore, ModelPull } from './bundle-store.js';
import { OciBundleStore } from './oci-bundle-store.js';
import type { TransferOptions } from './target.js';

/**
 * Is a release's source path an OCI artifact reference? CLI and batch make file paths absolute,
 * so a source like `localhost:5000/models/x:1` or `oci-layout:/…:1` can only be a reference.
 */
export function isArtifactSource(path: string): boolean {
  return !path.startsWith('/') && (path.startsWith(LAYOUT_SCHEME) || looksLikeReference(path));
}

export interface PulledSource extends ModelPull {
  /** Removes the temporary folder. */
  cleanup(): Promise<void>;
}

/**
 * A ModelPack artifact as a release source: its model files pulled (every digest checked, through
 * the host's blob cache) into a temporary folder that export then treats as a model folder.
 */
export async function pullModelSource(reference: string, options: TransferOptions & { readonly store?: BundleStore } = {}): Promise<PulledSource> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-source-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const pulled = await (options.store ?? new OciBundleStore()).pullModel(reference, join(dir, 'model'), options);
    return { ...pulled, cleanup };
  } catch (err) {
    await cleanup();
    if (err instanceof Error && 'retryable' in err) throw err;
    throw new ModelSourceError(`cannot pull the model source ${reference}: ${(err as Error).message}`, { cause: err });
  }
}
