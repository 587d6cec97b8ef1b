import { SearchAttributesMissingError } from './errors/index.js';

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
