import { readFile } from 'node:fs/promises';
import { bundlePaths } from '../bundle/layout.js';
import { MANIFEST_JWS_TYP, parseManifest } from '../bundle/manifest.js';
import { errorMessage } from '../errors/index.js';
import type { Keyring } from './keyring.js';
import type { TrustPolicy } from './policy.js';
import { verifyJwsWithPolicy, type PolicyVerification } from './verify-with-policy.js';

export interface BundleTrust {
  readonly keyring: Keyring;
  readonly policy: TrustPolicy;
  /** Default: now. */
  readonly at?: Date;
}

export interface BundleSignatureCheck {
  /** The `signature` check of a bundle verification report. */
  readonly ok: boolean;
  readonly detail: string;
  /** Undefined when model.yaml or model.jws could not be read. */
  readonly verification: PolicyVerification | undefined;
}

/**
 * The `signature` check of a bundle under a keyring and trust policy: model.jws must carry
 * t valid signatures by kids trusted for the model model.yaml names, over exactly the bytes of
 * model.yaml. The model name is read from model.yaml, and the payload must be those bytes, so
 * the rule applied is always the one for the signed name. Never throws for a bad bundle.
 */
export async function checkBundleSignature(bundleDir: string, trust: BundleTrust): Promise<BundleSignatureCheck> {
  const paths = bundlePaths(bundleDir);
  let manifestBytes: Buffer;
  let modelName: string;
  let jws: unknown;
  try {
    manifestBytes = await readFile(paths.manifest);
    modelName = parseManifest(manifestBytes.toString('utf8')).name;
  } catch (err) {
    return { ok: false, detail: `model.jws: not checked, model.yaml cannot be read: ${errorMessage(err)}`, verification: undefined };
  }
  try {
    jws = JSON.parse(await readFile(paths.signature, 'utf8')) as unknown;
  } catch (err) {
    return { ok: false, detail: `model.jws: ${errorMessage(err)}`, verification: undefined };
  }
  return checkManifestSignature(manifestBytes, modelName, jws, trust);
}

/**
 * The same check on bytes already read: model.jws (parsed) over exactly `manifestBytes`, under
 * the rule for `modelName`, which must be the name those bytes give. `openBundle` reads model.yaml
 * and model.jws once and checks them here, so what it returns is what the signatures cover.
 */
export function checkManifestSignature(manifestBytes: Buffer, modelName: string, jws: unknown, trust: BundleTrust): BundleSignatureCheck {
  const verification = verifyJwsWithPolicy(jws, {
    keyring: trust.keyring,
    policy: trust.policy,
    modelName,
    at: trust.at ?? new Date(),
    expectedTyp: MANIFEST_JWS_TYP,
  });
  const failing = verification.signatures.filter((s) => s.status !== 'valid').map((s) => `signature ${s.index}: ${s.status}: ${s.reason}`);
  if (!verification.ok) {
    return { ok: false, detail: `model.jws: ${verification.reason}${failing.length ? `; ${failing.join('; ')}` : ''}`, verification };
  }
  if (!verification.payload!.equals(manifestBytes)) {
    return { ok: false, detail: 'model.jws: the signatures verify, but their payload is not the model.yaml in the bundle', verification };
  }
  return { ok: true, detail: `model.jws over model.yaml: ${verification.reason}`, verification };
}
