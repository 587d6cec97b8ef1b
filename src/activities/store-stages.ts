import { readFile, stat } from 'node:fs/promises';
import { ManifestError } from '../errors/index.js';
import { sha256Hex } from '../hashing/stream-hash.js';
import { bundlePaths } from '../bundle/layout.js';
import type { StoredBundle } from '../store/bundle-store.js';
import type { AttestResult, ExportedFile, HashResult, InStore, SignResult, SmokeResult } from '../release/types.js';
import { parseManifest } from '../bundle/manifest.js';
import { statIdentity } from '../hashing/digest-cache.js';
import { join } from 'node:path';
import { hashBundle, type HashInput, type HashSettings } from './hash-bundle.js';
import { signManifest, type SignInput } from './sign-manifest.js';
import { attestProvenance, type AttestInput } from './attest-provenance.js';
import { smokeTest, type SmokeInput } from './smoke-test.js';
import { attachFile, onManifestOnly, onPulledBundle } from './bundle-checkout.js';
import type { ActivityDeps } from './deps.js';

/** A stage's input for releases through the store: the pinned bundle instead of a folder. */
export type StoredStageInput<T> = T & { readonly bundle: StoredBundle };

/**
 * The stages of a release through the bundle store. Each pulls what it needs by reference
 * (digests checked, blobs through this host's cache), runs the same code as on a bundle folder,
 * and attaches what it wrote as a referrer of the model, so the next stage may run on any host.
 * Paths in the results are relative to the bundle (they name parts, not files on a host).
 */

/**
 * Export pushed a complete model.yaml; the hash stage pulls the bundle by digest (on this or any
 * host) and hashes the pulled files again, so the release's root digest is of what the store
 * holds. A store whose model.yaml disagrees with its files fails the release.
 */
export async function hashInStore(deps: ActivityDeps, input: StoredStageInput<Omit<HashInput, 'bundleDir' | 'known'>>, settings: HashSettings): Promise<InStore<HashResult>> {
  return onPulledBundle(deps, input.bundle, ['manifest'], async (dir, pulled) => {
    const manifestText = await readFile(bundlePaths(dir).manifest, 'utf8');
    const stored = sha256Hex(manifestText);
    // On a worker with a digest cache (opt-in: it trusts digests computed earlier), export's
    // digests stand for the files the pull just checked against their layer digests.
    const known = settings.reuseKnown ? await knownDigests(dir, manifestText) : undefined;
    const result = await hashBundle({ bundleDir: dir, ...(input.workers ? { workers: input.workers } : {}), ...(known ? { known } : {}) }, settings);
    if (result.manifestSha256 !== stored) {
      throw new ManifestError(`model.yaml in ${input.bundle.reference} (sha256 ${stored}) does not describe the files the store holds (they give sha256 ${result.manifestSha256}, root ${result.rootDigest})`);
    }
    return { ...result, manifestPath: 'model.yaml', bundle: input.bundle, pulled };
  });
}

async function knownDigests(dir: string, manifestText: string): Promise<ExportedFile[]> {
  const manifest = parseManifest(manifestText);
  return Promise.all(manifest.files.map(async (f) => ({ ...f, identity: await statIdentity(join(bundlePaths(dir).modelDir, f.path)) })));
}

export async function signInStore(deps: ActivityDeps, input: StoredStageInput<Omit<SignInput, 'bundleDir'>>): Promise<InStore<SignResult>> {
  return onManifestOnly(deps, input.bundle, async (dir) => {
    const result = await signManifest(deps, { bundleDir: dir, signingKeyPath: input.signingKeyPath });
    const bundle = await attachFile(deps, input.bundle, 'signature', bundlePaths(dir).signature);
    return { ...result, jwsPath: 'model.jws', bundle };
  });
}

export async function attestInStore(deps: ActivityDeps, input: StoredStageInput<Omit<AttestInput, 'bundleDir'>>): Promise<InStore<AttestResult>> {
  return onManifestOnly(deps, input.bundle, async (dir) => {
    const result = await attestProvenance(deps, { bundleDir: dir, signingKeyPath: input.signingKeyPath, request: input.request, startedOn: input.startedOn });
    const bundle = await attachFile(deps, input.bundle, 'provenance', bundlePaths(dir).provenance);
    return { ...result, envelopePath: 'attestations/provenance.dsse.json', bundle };
  });
}

/** Smoke attaches its Test Result whether the model passed or not, so a failure is on record in the store too. */
export async function smokeInStore(deps: ActivityDeps, input: StoredStageInput<Omit<SmokeInput, 'bundleDir'>>): Promise<InStore<SmokeResult>> {
  return onPulledBundle(deps, input.bundle, ['manifest', 'signature', 'provenance'], async (dir, pulled) => {
    const smokeFile = bundlePaths(dir).smoke;
    let result: SmokeResult;
    try {
      result = await smokeTest(deps, { bundleDir: dir, signingKeyPath: input.signingKeyPath, ...(input.options ? { options: input.options } : {}) });
    } catch (err) {
      if (await stat(smokeFile).then(() => true, () => false)) await attachFile(deps, input.bundle, 'smoke', smokeFile);
      throw err;
    }
    const bundle = await attachFile(deps, input.bundle, 'smoke', smokeFile);
    return { ...result, attestationPath: 'attestations/smoke.dsse.json', bundle, pulled };
  });
}
