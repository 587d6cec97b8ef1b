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

/** The part of the workflow service the check needs (a Connection's or a NativeConnection's). */
interface CountService {
  countWorkflowExecutions(request: { namespace: string; query: string }): Promise<unknown>;
}

/**
 * Fails with SearchAttributesMissing when `namespace` lacks one of `names`: a visibility count
 * naming each of them is refused then. A worker checks this at start, because a workflow task
 * that upserts an unregistered attribute fails and is retried for ever: the release would hang
 * instead of saying why. Any other refusal (a permission, a visibility store without IS NULL)
 * is returned for the caller to log, not thrown: it proves nothing about the attributes.
 */
export async function checkSearchAttributes(service: CountService, namespace: string, names: readonly string[]): Promise<unknown> {
  try {
    await service.countWorkflowExecutions({ namespace, query: names.map((n) => `${n} IS NULL`).join(' OR ') });
    return undefined;
  } catch (err) {
    const missing = missingSearchAttribute(err, namespace);
    if (missing) throw missing;
    return err;
  }
}
