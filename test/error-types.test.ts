// Retry policies match failures by type: every sandbox and smoke failure must be listed as
// non-retryable, or a hostile plugin would be run again on every retry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NON_RETRYABLE_ERROR_TYPES } from '../src/errors.js';
import { SANDBOX_ERROR_TYPES } from '../src/sandbox/errors.js';
import { TRUST_ERROR_TYPES } from '../src/trust/errors.js';
import { BundleVerificationFailedError, NativeInferenceError, SmokeFailedError, SmokeInputError } from '../src/smoke/errors.js';

test('sandbox, trust and smoke error types are all non-retryable in the retry policies', () => {
  const listed = new Set<string>(NON_RETRYABLE_ERROR_TYPES);
  const failedVerification = { mode: 'release-keys', trustSource: 'x', at: '', failedChecks: [], rule: '', threshold: 0, counted: 0, countedKids: [], signatures: [] } as const;
  const smoke = [new SmokeInputError('x'), new SmokeFailedError('x'), new NativeInferenceError('x'), new BundleVerificationFailedError('x', failedVerification)];
  for (const type of [...SANDBOX_ERROR_TYPES, ...TRUST_ERROR_TYPES, ...smoke.map((e) => e.type)]) assert.ok(listed.has(type), `${type} is missing from NON_RETRYABLE_ERROR_TYPES`);
  for (const err of smoke) assert.equal(err.retryable, false);
});
