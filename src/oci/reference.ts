import { isAbsolute, resolve } from 'node:path';
import { ReferenceError } from '../errors/index.js';
import { isDigest, type Digest } from './descriptor.js';

/**
 * Where artifacts live: a registry repository, or an OCI image layout folder (the embedded
 * store for one machine). A reference names one of them plus a tag and/or a digest.
 *
 *   localhost:5000/models/sample-mlp:1.0.0@sha256:…     registry (host must have a '.', a ':' or be localhost)
 *   oci-layout:/srv/modelship/oci/sample-mlp:1.0.0@sha256:…   OCI layout folder
 */
export type StoreLocation =
  | { readonly kind: 'registry'; readonly registry: string; readonly repository: string }
  | { readonly kind: 'layout'; readonly dir: string };

export interface Reference {
  readonly location: StoreLocation;
  readonly tag?: string;
  readonly digest?: Digest;
}

export const LAYOUT_SCHEME = 'oci-layout:';
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const REPO_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** Does this string look like an artifact reference rather than a host path? */
export function looksLikeReference(value: string): boolean {
  if (value.startsWith(LAYOUT_SCHEME)) return true;
  const slash = value.indexOf('/');
  if (slash <= 0) return false;
  const host = value.slice(0, slash);
  return host === 'localhost' || host.includes(':') || (host.includes('.') && !host.startsWith('.'));
}

export function parseReference(value: string): Reference {
  const bad = (why: string) => new ReferenceError(`reference ${JSON.stringify(value)}: ${why} (expected host[:port]/repository[:tag][@sha256:…] or ${LAYOUT_SCHEME}<dir>[:tag][@sha256:…])`);
  let rest = value.trim();
  let digest: Digest | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw bad(`${JSON.stringify(d)} is not a sha256 digest`);
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/') && colon > (rest.startsWith(LAYOUT_SCHEME) ? LAYOUT_SCHEME.length - 1 : -1)) {
    tag = rest.slice(colon + 1);
    if (!TAG_RE.test(tag)) throw bad(`tag ${JSON.stringify(tag)} is not a valid tag`);
    rest = rest.slice(0, colon);
  }
  if (rest.startsWith(LAYOUT_SCHEME)) {
    const dir = rest.slice(LAYOUT_SCHEME.length);
    if (!dir) throw bad('no folder after oci-layout:');
    return { location: { kind: 'layout', dir: isAbsolute(dir) ? dir : resolve(dir) }, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
  }
  if (!looksLikeReference(rest)) throw bad('no registry host');
  const slash = rest.indexOf('/');
  const registry = rest.slice(0, slash);
  const repository = rest.slice(slash + 1);
  if (!REPO_RE.test(repository)) throw bad(`repository ${JSON.stringify(repository)} must be lowercase path components`);
  if (!tag && !digest) throw bad('needs a tag or a digest');
  return { location: { kind: 'registry', registry, repository }, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

export function formatLocation(location: StoreLocation): string {
  return location.kind === 'registry' ? `${location.registry}/${location.repository}` : `${LAYOUT_SCHEME}${location.dir}`;
}

export function formatReference(ref: Reference): string {
  return `${formatLocation(ref.location)}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** A model repository name from a model name: registries want lowercase path components. */
export function repositoryNameFor(modelName: string): string {
  const name = modelName.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  if (!name) throw new ReferenceError(`model name ${JSON.stringify(modelName)} gives no repository name`);
  return name;
}

/** A version as a tag: tags allow [A-Za-z0-9_.-] only (semver build metadata's '+' becomes '_'). */
export function tagFor(version: string): string {
  const tag = version.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[.-]/, '_').slice(0, 128);
  if (!TAG_RE.test(tag)) throw new ReferenceError(`version ${JSON.stringify(version)} gives no valid tag`);
  return tag;
}
