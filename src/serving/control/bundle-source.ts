import { join } from 'node:path';
import { mkdir, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { pathExists } from '../../path-exists.js';
import { hexOf } from '../../oci/descriptor.js';
import { parseReference } from '../../oci/reference.js';
import type { BundleStore } from '../../store/bundle-store.js';
import type { Logger } from '../../logger.js';
import { BundleRefusedError, BundleStoreUnavailableError, InvalidRequestError, ModelshipError, errorMessage } from '../../errors/index.js';
import type { DeployTarget } from './deploy-target.js';
import { verifyForServing, type VerifiedBundle } from './loaded-model.js';

export interface BundleSourceDeps {
  readonly trustedKeysDir: string;
  /** Where deploys by reference are pulled from, into `pullRoot` (the runtime's own copies, on its disk). */
  readonly bundles?: { readonly store: BundleStore; readonly pullRoot: string };
  readonly logger: Logger;
}

/**
 * Turns a deploy target into a verified bundle on this host. A reference is pulled into this
 * runtime's own folder first (every blob and referrer checked against its digest, blobs through
 * the local cache); with `reuse` (restart, rollback) a copy already pulled is verified as it is
 * and the store is asked only when that copy is gone or fails.
 */
export class BundleSource {
  constructor(private readonly deps: BundleSourceDeps) {}

  async verify(target: DeployTarget, options: { reuse?: boolean } = {}): Promise<VerifiedBundle> {
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
    const digest = parseReference(reference).digest;
    // Pulled copies are keyed by digest: a tag may move, so an unpinned reference has no folder.
    if (!digest) throw new InvalidRequestError(`reference ${reference} must be pinned by digest (…@sha256:<hex>): a tag may move`);
    return join(bundles.pullRoot, hexOf(digest));
  }

  private requireBundles(reference: string): NonNullable<BundleSourceDeps['bundles']> {
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
}

function withReference(verified: VerifiedBundle, reference: string): VerifiedBundle {
  return { ...verified, ref: { ...verified.ref, reference } };
}

/**
 * A pull that failed: the store unreachable is worth a retry (the slot keeps serving what it
 * has); bytes that do not match their digest, a missing part or not a model are refused, naming
 * what failed.
 */
function pullFailure(reference: string, err: unknown): Error {
  if (err instanceof ModelshipError && err.retryable) return new BundleStoreUnavailableError(`cannot pull ${reference} now: ${err.message}`, { cause: err });
  if (err instanceof ModelshipError) return new BundleRefusedError(`bundle ${reference} refused: pull: ${err.type}: ${err.message}`, [{ check: 'files', ok: false, detail: `${err.type}: ${err.message}` }]);
  return new BundleStoreUnavailableError(`cannot pull ${reference} now: ${errorMessage(err)}`, { cause: err });
}
