// Retry policies match failures by type: every sandbox and smoke failure must be non-retryable,
// or a hostile plugin would be run again on every retry. The non-retryable types are derived
// from the error classes (src/errors/); these tests pin the names SREs filter on in history.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.js';
import {
  BundleVerificationFailedError,
  ERROR_CLASSES,
  KeyringError,
  ModelshipError,
  MultiSignError,
  NativeInferenceError,
  NON_RETRYABLE_ERROR_TYPES,
  SandboxError,
  SmokeFailedError,
  SmokeInputError,
  TrustPolicyError,
} from '../src/errors/index.js';
import { STAGE_ACTIVITY_OPTIONS } from '../src/workflows/activity-options.js';

/** The hand-written list src/errors.ts kept before the types were derived from the classes: none may go. */
const NON_RETRYABLE_BEFORE = [
  'ModelSourceError', 'CorruptModelError', 'ExporterError', 'ExporterTimeoutError', 'BundleConflictError', 'KeyNotFoundError',
  'WrongPassphraseError', 'PassphraseMissingError', 'InvalidKeyError', 'ManifestError', 'ExternalDataRefused', 'SmokeInputError',
  'SmokeFailed', 'BundleVerificationFailed', 'NativeInferenceError', 'NativeRuntimeCrashed', 'NativeMemoryLimit', 'NativeTimeout',
  'SandboxTimeout', 'SandboxMemoryLimit', 'SandboxForbiddenImport', 'SandboxInvalidModule', 'SandboxTrap', 'PluginError',
  'SandboxEngineError', 'ServingRejectedError', 'ServingNotConfigured', 'KeyringError', 'TrustPolicyError', 'MultiSignError',
  'ReferenceError', 'RegistryAuthError', 'DigestMismatchError', 'NotAModelError', 'ArtifactNotFoundError', 'RegistryProtocolError',
];

/** Every error type (class name → type in history) as it was before the one error module. */
const TYPES_BEFORE: Record<string, string> = {
  ModelSourceError: 'ModelSourceError', CorruptModelError: 'CorruptModelError', ExporterError: 'ExporterError',
  ExporterTimeoutError: 'ExporterTimeoutError', BundleConflictError: 'BundleConflictError', KeyNotFoundError: 'KeyNotFoundError',
  WrongPassphraseError: 'WrongPassphraseError', PassphraseMissingError: 'PassphraseMissingError', InvalidKeyError: 'InvalidKeyError',
  ManifestError: 'ManifestError', ExternalDataRefusedError: 'ExternalDataRefused', ReferenceError: 'ReferenceError',
  RegistryAuthError: 'RegistryAuthError', DigestMismatchError: 'DigestMismatchError', NotAModelError: 'NotAModelError',
  ArtifactNotFoundError: 'ArtifactNotFoundError', RegistryProtocolError: 'RegistryProtocolError',
  RegistryUnavailableError: 'RegistryUnavailableError', RegistryTlsError: 'RegistryTlsError', TransientIoError: 'TransientIoError',
  CodecConfigError: 'CodecConfigError', CodecKeyUnknownError: 'CodecKeyUnknownError', CodecDecryptError: 'CodecDecryptError',
  CodecKeysMissingError: 'CodecKeysMissingError',
  SandboxTimeoutError: 'SandboxTimeout', SandboxMemoryError: 'SandboxMemoryLimit', SandboxForbiddenImportError: 'SandboxForbiddenImport',
  SandboxInvalidModuleError: 'SandboxInvalidModule', SandboxTrapError: 'SandboxTrap', PluginReportedError: 'PluginError',
  SandboxEngineError: 'SandboxEngineError',
  NativeRuntimeCrashedError: 'NativeRuntimeCrashed', NativeMemoryLimitError: 'NativeMemoryLimit', NativeTimeoutError: 'NativeTimeout',
  SmokeInputError: 'SmokeInputError', SmokeFailedError: 'SmokeFailed', NativeInferenceError: 'NativeInferenceError',
  BundleVerificationFailedError: 'BundleVerificationFailed',
  InvalidRequestError: 'InvalidRequestError', UnknownModelError: 'UnknownModelError', TargetNotLoadedError: 'TargetNotLoadedError',
  ServingConflictError: 'ServingConflictError', PayloadTooLargeError: 'PayloadTooLargeError', BundleRefusedError: 'BundleRefusedError',
  NoStableSlotError: 'NoStableSlotError', InferenceFailedError: 'InferenceFailedError', BundleStoreUnavailableError: 'BundleStoreUnavailable',
  StatePersistError: 'StatePersistError', ServingConfigError: 'ServingConfigError', ServingUnavailableError: 'ServingUnavailableError',
  ServingRejectedError: 'ServingRejectedError', MethodNotAllowedError: 'MethodNotAllowed', NoRouteError: 'NoRoute',
  NotReadyError: 'NotReady', UnsupportedEncodingError: 'UnsupportedEncoding',
  KeyringError: 'KeyringError', TrustPolicyError: 'TrustPolicyError', MultiSignError: 'MultiSignError',
  StoreNotConfiguredError: 'StoreNotConfigured', ServingNotConfiguredError: 'ServingNotConfigured', TracingConfigError: 'TracingConfigError',
  MetricsConfigError: 'MetricsConfigError', RolloutFileError: 'RolloutFileError', SearchAttributeConflictError: 'SearchAttributeConflict',
  SearchAttributeRegistrationError: 'SearchAttributeRegistrationFailed', SearchAttributesMissingError: 'SearchAttributesMissing',
};

test('every error class keeps its type name in history, and has a unique code equal to it', () => {
  const byName = Object.fromEntries(ERROR_CLASSES.map((c) => [c.name, c.code]));
  assert.deepEqual(byName, TYPES_BEFORE);
  assert.equal(new Set(ERROR_CLASSES.map((c) => c.code)).size, ERROR_CLASSES.length, 'two classes share a code');
  const err = new SmokeFailedError('x');
  assert.equal(err.code, SmokeFailedError.code);
  assert.equal(err.type, 'SmokeFailed');
  assert.equal(err.name, 'SmokeFailedError');
});

test('the derived non-retryable types are exactly the non-retryable classes, and include every type listed before', () => {
  assert.deepEqual(new Set(NON_RETRYABLE_ERROR_TYPES), new Set(ERROR_CLASSES.filter((c) => !c.retryable).map((c) => c.code)));
  for (const type of NON_RETRYABLE_BEFORE) assert.ok(NON_RETRYABLE_ERROR_TYPES.includes(type), `${type} is missing from NON_RETRYABLE_ERROR_TYPES`);
  for (const c of ERROR_CLASSES) assert.equal(typeof c.retryable, 'boolean', `${c.name} says nothing of retrying`);
  for (const [stage, options] of Object.entries(STAGE_ACTIVITY_OPTIONS)) {
    assert.deepEqual(options.retry.nonRetryableErrorTypes, [...NON_RETRYABLE_ERROR_TYPES], stage);
  }
});

test('sandbox, trust and smoke error types are all non-retryable in the retry policies', () => {
  const listed = new Set<string>(NON_RETRYABLE_ERROR_TYPES);
  const failedVerification = { mode: 'release-keys', trustSource: 'x', at: '', failedChecks: [], rule: '', threshold: 0, counted: 0, countedKids: [], signatures: [] } as const;
  const smoke = [new SmokeInputError('x'), new SmokeFailedError('x'), new NativeInferenceError('x'), new BundleVerificationFailedError('x', failedVerification)];
  const sandbox = ERROR_CLASSES.filter((c) => c.prototype instanceof SandboxError);
  assert.equal(sandbox.length, 7);
  for (const type of [...sandbox.map((c) => c.code), ...[KeyringError, TrustPolicyError, MultiSignError].map((c) => c.code), ...smoke.map((e) => e.type)]) {
    assert.ok(listed.has(type), `${type} is missing from NON_RETRYABLE_ERROR_TYPES`);
  }
  for (const err of smoke) assert.equal(err.retryable, false);
});

test('every ModelshipError class lives in src/errors/ (no second home for errors)', () => {
  const outside: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts') && !path.startsWith(join(PROJECT_ROOT, 'src', 'errors'))) {
        if (/class \w+ extends (ModelshipError|BadInputError|ServingHttpError|SandboxError|NativeRuntimeFailure)\b/.test(readFileSync(path, 'utf8'))) outside.push(relative(PROJECT_ROOT, path));
      }
    }
  };
  walk(join(PROJECT_ROOT, 'src'));
  assert.deepEqual(outside, []);
  assert.ok(ERROR_CLASSES.every((c) => c.prototype instanceof ModelshipError));
});
