import { join } from 'node:path';
import { DATA_DIR } from '../paths.js';
import { ReferenceError } from '../errors/index.js';
import { LAYOUT_SCHEME, looksLikeReference, repositoryNameFor, tagFor } from '../oci/reference.js';

/**
 * Where bundles are stored, from MODELSHIP_STORE:
 *   unset                       an OCI layout folder per model under $MODELSHIP_HOME/oci (one machine, nothing to run)
 *   oci-layout:/shared/oci      OCI layout folders under that folder
 *   registry.example.com/team   a registry namespace: bundles go to <namespace>/<model>:<version>
 */
export function configuredStore(env: NodeJS.ProcessEnv = process.env): string {
  const store = env.MODELSHIP_STORE?.trim();
  if (!store) return `${LAYOUT_SCHEME}${join(env.MODELSHIP_HOME ?? DATA_DIR, 'oci')}`;
  if (!store.startsWith(LAYOUT_SCHEME) && !looksLikeReference(`${store.replace(/\/+$/, '')}/x`)) {
    throw new ReferenceError(`MODELSHIP_STORE=${store}: expected oci-layout:<dir> or a registry host[/namespace] (e.g. localhost:5000/models)`);
  }
  return store.replace(/\/+$/, '');
}

/** The tag reference a release of name@version is pushed to in a store (the digest is pinned once pushed). */
export function bundleReferenceFor(store: string, name: string, version: string): string {
  return `${store}/${repositoryNameFor(name)}:${tagFor(version)}`;
}
