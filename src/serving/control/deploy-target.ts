import { isAbsolute, resolve } from 'node:path';
import { looksLikeReference, parseReference } from '../../oci/reference.js';
import { InvalidRequestError } from '../errors.js';
import { errorMessage } from '../../errors.js';

/**
 * What a deploy names: a pinned reference in a bundle store (`host/repo:tag@sha256:…`, pulled
 * into the runtime's own cache and verified there: the form for several machines), or a bundle
 * folder on the serving host itself (one machine, and `modelship serve` users deploying by hand).
 */
export type DeployTarget = { readonly reference: string } | { readonly bundleDir: string };

/** Checks an admin deploy body: exactly one of `reference` (with a digest) and `bundleDir` (absolute). */
export function parseDeployTarget(body: Record<string, unknown>): DeployTarget {
  const { reference, bundleDir } = body;
  if (reference !== undefined && bundleDir !== undefined) throw new InvalidRequestError('name either reference or bundleDir, not both');
  if (reference !== undefined) {
    if (typeof reference !== 'string' || !looksLikeReference(reference)) throw new InvalidRequestError(`reference must be a store reference like host/repo:tag@sha256:…, got ${JSON.stringify(reference)}`);
    let parsed;
    try {
      parsed = parseReference(reference);
    } catch (err) {
      throw new InvalidRequestError(errorMessage(err));
    }
    if (!parsed.digest) throw new InvalidRequestError(`reference ${reference} must be pinned by digest (…@sha256:<hex>): a tag may move`);
    return { reference };
  }
  if (typeof bundleDir !== 'string' || !isAbsolute(bundleDir)) {
    throw new InvalidRequestError(`deploy needs reference (host/repo:tag@sha256:…) or bundleDir (an absolute path on the serving host), got ${JSON.stringify(bundleDir)}`);
  }
  return { bundleDir: resolve(bundleDir) };
}

/** Whether a slot (its recorded reference or folder) holds what `target` names. */
export function holds(slot: { readonly reference?: string; readonly bundleDir: string }, target: DeployTarget): boolean {
  return 'reference' in target ? slot.reference === target.reference : slot.reference === undefined && slot.bundleDir === target.bundleDir;
}
