import { join } from 'node:path';

/**
 * A release bundle on disk:
 *   model/                         the model files (what the root digest covers)
 *   model.yaml                     the manifest: identity, signature, every file's size and SHA-256
 *   model.jws                      JWS (general JSON) over the bytes of model.yaml
 *   attestations/provenance.dsse.json   DSSE envelope of an in-toto Statement with SLSA provenance
 *   attestations/smoke.dsse.json        DSSE envelope of an in-toto Test Result of the smoke stage
 */
export const BUNDLE_MODEL_DIR = 'model';
export const BUNDLE_MANIFEST = 'model.yaml';
export const BUNDLE_SIGNATURE = 'model.jws';
export const BUNDLE_PROVENANCE = 'attestations/provenance.dsse.json';
export const BUNDLE_SMOKE = 'attestations/smoke.dsse.json';
/** Marks which release wrote a bundle, so a retry may overwrite its own and nobody else's. */
export const BUNDLE_OWNER = '.release-id';

export function bundlePaths(bundleDir: string) {
  return {
    modelDir: join(bundleDir, BUNDLE_MODEL_DIR),
    manifest: join(bundleDir, BUNDLE_MANIFEST),
    signature: join(bundleDir, BUNDLE_SIGNATURE),
    provenance: join(bundleDir, BUNDLE_PROVENANCE),
    smoke: join(bundleDir, BUNDLE_SMOKE),
    owner: join(bundleDir, BUNDLE_OWNER),
  };
}

export function bundleDirFor(bundlesRoot: string, name: string, version: string): string {
  return join(bundlesRoot, name, version);
}
