/**
 * How a release names its signing key (ReleaseRequest.signingKeyPath): a path that is valid on
 * every worker, or `kid:<RFC 7638 thumbprint>`, which each worker resolves in its own key folder
 * (MODELSHIP_SIGNING_KEYS_DIR, src/trust/signing-key-ref.ts). Kept free of imports: the CLI
 * checks the form without loading the key code.
 */
export const KID_PREFIX = 'kid:';

export function namesKeyByKid(signingKey: string): boolean {
  return signingKey.startsWith(KID_PREFIX);
}
