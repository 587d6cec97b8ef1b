import { readFile } from 'node:fs/promises';
import { bundlePaths } from '../bundle/layout.js';
import { MANIFEST_JWS_TYP, parseManifest } from '../bundle/manifest.js';
import { writeFileAtomic } from '../atomic-write.js';
import { loadReleaseSigners } from '../trust/signers.js';
import { signGeneralJwsMulti } from '../trust/multi-sign.js';
import { sha256Hex } from '../hashing/stream-hash.js';
import type { SignResult } from '../release/types.js';
import type { ActivityDeps } from './deps.js';

export interface SignInput {
  readonly bundleDir: string;
  readonly signingKeyPath: string;
}

/**
 * Signs the exact bytes of model.yaml, with every valid signer of the keyring next to the key
 * (old and new during a rotation; just the key when there is no keyring). Ed25519 is
 * deterministic, so a retry writes the same model.jws; keys are decrypted here, used, and never
 * leave this function.
 */
export async function signManifest(deps: ActivityDeps, input: SignInput): Promise<SignResult> {
  const paths = bundlePaths(input.bundleDir);
  const manifestBytes = await readFile(paths.manifest);
  parseManifest(manifestBytes.toString('utf8')); // refuse to sign a draft or a damaged manifest
  const keys = await loadReleaseSigners(input.signingKeyPath, await deps.passphrase());
  const jws = signGeneralJwsMulti(manifestBytes, keys, MANIFEST_JWS_TYP);
  await writeFileAtomic(paths.signature, JSON.stringify(jws, null, 2) + '\n');
  const kids = keys.map((k) => k.kid);
  return { jwsPath: paths.signature, kid: kids.join(','), kids, alg: 'EdDSA', typ: MANIFEST_JWS_TYP, manifestSha256: sha256Hex(manifestBytes) };
}
