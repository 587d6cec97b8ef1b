import { ModelshipError } from './errors.js';

/** The namespace has a custom search attribute of one of modelship's names, with another type: modelship cannot use it. */
export class SearchAttributeConflictError extends ModelshipError {
  readonly type = 'SearchAttributeConflict';
  readonly retryable = false;
}

/** The cluster refused to list or add search attributes (no such namespace, no permission, the visibility store is full...). */
export class SearchAttributeRegistrationError extends ModelshipError {
  readonly type = 'SearchAttributeRegistrationFailed';
  readonly retryable = false;
}

/**
 * The namespace lacks a search attribute modelship sets or filters on: a cluster where
 * `modelship setup-namespace` has not run (the dev server gets them from temporal/start.sh).
 */
export class SearchAttributesMissingError extends ModelshipError {
  readonly type = 'SearchAttributesMissing';
  readonly retryable = false;
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

/** What a Temporal server says when a request names a search attribute the namespace does not have (SQL and Elasticsearch visibility). */
const MISSING = [/column name '(\w+)' is not a valid search attribute/i, /no mapping defined for search attribute (\w+)/i, /search attribute (\w+) is not defined/i];

/** `err` (or a cause) is the server refusing an unregistered search attribute: the typed error for it; else undefined. */
export function missingSearchAttribute(err: unknown, namespace: string): SearchAttributesMissingError | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const message = e instanceof Error ? e.message : String(e);
    for (const pattern of MISSING) {
      const m = pattern.exec(message);
      if (m) return new SearchAttributesMissingError(namespace, m[1], { cause: err });
    }
  }
  return undefined;
}
