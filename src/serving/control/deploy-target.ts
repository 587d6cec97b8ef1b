/**
 * What a deploy names: a pinned reference in a bundle store (`host/repo:tag@sha256:…`, pulled
 * into the runtime's own cache and verified there: the form for several machines), or a bundle
 * folder on the serving host itself (one machine, and `modelship serve` users deploying by hand).
 */
export type DeployTarget = { readonly reference: string } | { readonly bundleDir: string };

/** Whether a slot (its recorded reference or folder) holds what `target` names. */
export function holds(slot: { readonly reference?: string; readonly bundleDir: string }, target: DeployTarget): boolean {
  return 'reference' in target ? slot.reference === target.reference : slot.reference === undefined && slot.bundleDir === target.bundleDir;
}
