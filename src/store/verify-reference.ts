import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trustedKid, verifyBundle, type CheckName, type CheckResult, type TrustArgument, type VerificationReport, type VerifyBundleOptions } from '../bundle/verify.js';
import { ModelshipError } from '../errors/index.js';
import { BUNDLE_PARTS, BUNDLE_REFERRERS } from '../oci/media-types.js';
import type { BundleStore, PullResult } from './bundle-store.js';

export interface ReferenceVerification extends VerificationReport {
  readonly reference: string;
  /** The pinned reference (with the manifest digest) when the artifact could be read. */
  readonly pinned?: string;
}

/**
 * Verifies a bundle in a store: pulls it (every digest checked on the way) into `dir` or a
 * temporary folder, then runs the bundle verifier on it. The pull is the `artifact` check: a
 * blob, manifest or referrer whose bytes do not match, an artifact that is not a model, or a
 * part listed twice fails it, naming what. Errors a retry may cure (registry down) and refused
 * credentials are thrown, since they say nothing about the bundle.
 */
export async function verifyReference(store: BundleStore, reference: string, trust: TrustArgument, options: VerifyBundleOptions & { readonly dir?: string } = {}): Promise<ReferenceVerification> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'modelship-verify-')));
  try {
    let pulled: PullResult;
    try {
      pulled = await store.pullBundle(reference, join(dir, 'bundle'));
    } catch (err) {
      if (!(err instanceof ModelshipError) || err.retryable || err.type === 'RegistryAuthError' || err.type === 'ReferenceError') throw err;
      const failed: CheckResult = { check: 'artifact', ok: false, detail: `${err.type}: ${err.message}` };
      const names: CheckName[] = ['manifest', 'files', 'root-digest', 'signature', 'provenance', ...(options.smokeAttestation === false ? [] : (['smoke'] as const))];
      const notChecked = names.map(
        (check): CheckResult => ({ check, ok: false, detail: 'not checked: the artifact could not be read' }),
      );
      return { reference, bundleDir: '', ok: false, kid: trustedKid(trust), checks: [failed, ...notChecked] };
    }
    const missing = BUNDLE_PARTS.filter((p) => !pulled.parts[p] && !(p === 'smoke' && options.smokeAttestation === false));
    const artifact: CheckResult = {
      check: 'artifact',
      ok: true,
      detail: `${pulled.reference}: ModelPack manifest and every blob match their digests; referrers ${Object.keys(pulled.parts).map((p) => BUNDLE_REFERRERS[p as keyof typeof BUNDLE_REFERRERS].title).join(', ') || 'none'}${missing.length ? ` (missing: ${missing.map((p) => BUNDLE_REFERRERS[p].title).join(', ')})` : ''}`,
    };
    const report = await verifyBundle(pulled.bundleDir, trust, options);
    return { ...report, reference, pinned: pulled.reference, checks: [artifact, ...report.checks] };
  } finally {
    if (!options.dir) await rm(dir, { recursive: true, force: true });
  }
}
