export {
  DEFAULT_KEYRING_FILE,
  KEYRING_VERSION,
  Keyring,
  describeKeyStatus,
  keyStatus,
  loadKeyring,
  parseKeyring,
  saveKeyring,
  type AddKeyInput,
  type KeyRevocation,
  type KeyStatus,
  type KeyringEntry,
  type KeyringFile,
} from './keyring.js';
export {
  TRUST_POLICY_VERSION,
  checkPolicyAgainstKeyring,
  describeRule,
  globToRegExp,
  loadTrustPolicy,
  parseTrustPolicy,
  ruleFor,
  type RuleMatch,
  type TrustPolicy,
  type TrustRule,
} from './policy.js';
export { signEnvelopeMulti, signGeneralJwsMulti } from './multi-sign.js';
export {
  DEFAULT_MAX_SIGNATURES,
  verifyJwsWithPolicy,
  type PolicyVerification,
  type SignatureCheck,
  type SignatureStatus,
  type VerifyWithPolicyOptions,
} from './verify-with-policy.js';
export { checkBundleSignature, checkManifestSignature, type BundleSignatureCheck, type BundleTrust } from './bundle-signature.js';
export { resolveTrust, trustKey, type Trust, type TrustSource } from './trust-source.js';
export { loadTrustedKeys, TRUSTED_KEY_SUFFIXES, type TrustedKeys } from './key-files.js';
export { loadReleaseSigners } from './signers.js';
export { releaseKeysTrust } from './release-keys-trust.js';
export { TRUST_POLICY_FILES, loadTrustDir, type TrustDir } from './trust-dir.js';
