import { readFile } from 'node:fs/promises';
import { bundlePaths } from '../bundle/layout.js';
import { MANIFEST_JWS_TYP, parseManifest } from '../bundle/manifest.js';
import { writeFileAtomic } from '../bundle/atomic-write.js';
import { loadSigningKey } from '../crypto/keys.js';
import { signGeneralJws } from '../crypto/jws.js';
import { sha256Hex } from '../hashing/stream-hash.js';
import type { SignResult } from '../release/types.js';
import type { ActivityDeps } from './deps.js';

export interface SignInput {
  readonly bundleDir: string;
  readonly signingKeyPath: string;
}

/**
 * Signs the exact bytes of model.yaml. Ed25519 is deterministic, so a retry writes the same
 * model.jws; the key is decrypted here, used, and never leaves this function.
 */
export async function signManifest(deps: ActivityDeps, input: SignInput): Promise<SignResult> {
  const paths = bundlePaths(input.bundleDir);
  const manifestBytes = await readFile(paths.manifest);
  parseManifest(manifestBytes.toString('utf8')); // refuse to sign a draft or a damaged manifest
  const key = await loadSigningKey(input.signingKeyPath, await deps.passphrase());
  const jws = signGeneralJws(manifestBytes, key, MANIFEST_JWS_TYP);
  await writeFileAtomic(paths.signature, JSON.stringify(jws, null, 2) + '\n');
  return { jwsPath: paths.signature, kid: key.kid, alg: 'EdDSA', typ: MANIFEST_JWS_TYP, manifestSha256: sha256Hex(manifestBytes) };
}
