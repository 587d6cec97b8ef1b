/** A worker or CLI that cannot run as configured: settings, the namespace, a rollout file. None is retryable. */
import { BadInputError } from './base.js';

/** The worker has no bundle store (MODELSHIP_STORE / MODELSHIP_HOME). */
export class StoreNotConfiguredError extends BadInputError {
  static override readonly code = 'StoreNotConfigured';
}

/** The worker has no serving runtime to deploy a canary to. */
export class ServingNotConfiguredError extends BadInputError {
  static override readonly code = 'ServingNotConfigured';
}

/** The OTEL_* settings cannot be used as given. */
export class TracingConfigError extends BadInputError {
  static override readonly code = 'TracingConfigError';
}

/** The worker cannot serve metrics with these settings. */
export class MetricsConfigError extends BadInputError {
  static override readonly code = 'MetricsConfigError';
}

/** A batch rollout file that does not parse or names values out of range. */
export class RolloutFileError extends BadInputError {
  static override readonly code = 'RolloutFileError';
}

/** The namespace has a custom search attribute of one of modelship's names, with another type: modelship cannot use it. */
export class SearchAttributeConflictError extends BadInputError {
  static override readonly code = 'SearchAttributeConflict';
}

/** The cluster refused to list or add search attributes (no such namespace, no permission, the visibility store is full...). */
export class SearchAttributeRegistrationError extends BadInputError {
  static override readonly code = 'SearchAttributeRegistrationFailed';
}

/**
 * The namespace lacks a search attribute modelship sets or filters on: a cluster where
 * `modelship setup-namespace` has not run (the dev server gets them from temporal/start.sh).
 */
export class SearchAttributesMissingError extends BadInputError {
  static override readonly code = 'SearchAttributesMissing';
  constructor(
    readonly namespace: string,
    readonly attribute: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `namespace ${namespace} has no search attribute ${attribute ?? 'of modelship'}: ` +
        `run 'modelship setup-namespace' once with the same connection settings (it registers them through the operator API)`,
      options,
    );
  }
}
