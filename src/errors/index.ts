/**
 * Every modelship error, from one module: import them from errors/index.js.
 *
 * Each concrete class has a static `code` (its name in Temporal history) and `retryable`; the
 * retry policies' non-retryable types are derived from the classes below, so a new error class
 * only has to be defined in one of these files. No Node imports, no side effects: the workflow
 * bundle imports this module.
 */
import { ModelshipError, type ErrorClass } from './base.js';
import * as release from './release.js';
import * as oci from './oci.js';
import * as codec from './codec.js';
import * as sandbox from './sandbox.js';
import * as native from './native.js';
import * as smoke from './smoke.js';
import * as serving from './serving.js';
import * as trust from './trust.js';
import * as setup from './setup.js';

export * from './base.js';
export * from './release.js';
export * from './oci.js';
export * from './codec.js';
export * from './sandbox.js';
export * from './native.js';
export * from './smoke.js';
export * from './serving.js';
export * from './trust.js';
export * from './setup.js';

function isErrorClass(value: unknown): value is ErrorClass {
  return typeof value === 'function' && value.prototype instanceof ModelshipError && Object.hasOwn(value, 'code');
}

/** Every concrete error class (one with its own `code`), in the order of the files above. */
export const ERROR_CLASSES: readonly ErrorClass[] = [release, oci, codec, sandbox, native, smoke, serving, trust, setup].flatMap((m) => Object.values(m).filter(isErrorClass));

/** The `code` of every error a retry could not help: the retry policies' nonRetryableErrorTypes. */
export const NON_RETRYABLE_ERROR_TYPES: readonly string[] = ERROR_CLASSES.filter((c) => !c.retryable).map((c) => c.code);
