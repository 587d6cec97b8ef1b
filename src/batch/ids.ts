/**
 * Batch ids and workflow ids. A batch's workflow id is `batch-<batchId>`; a schedule appends the
 * scheduled time to the id it is given (`batch-nightly-2025-06-01T03:00:00Z`), so the batch
 * workflow derives its batch id from its own workflow id and every scheduled run gets its own.
 * Pure: used in workflows.
 */
export const BATCH_WORKFLOW_ID_PREFIX = 'batch-';
/** A batch id is a search attribute value and goes into each child's request (assertSafeName's rule). */
const MAX_BATCH_ID = 128;

export function batchWorkflowId(batchId: string): string {
  return `${BATCH_WORKFLOW_ID_PREFIX}${batchId}`;
}

/**
 * `batch-nightly-7` → `nightly-7`; `batch-nightly-2025-06-01T03:00:00Z` → `nightly-2025-06-01T03-00-00Z`:
 * the prefix dropped, anything outside [A-Za-z0-9._+-] replaced by '-', at most 128 characters
 * (the tail, where a schedule's timestamp makes runs unique, is kept).
 */
export function batchIdFromWorkflowId(workflowId: string): string {
  const stem = workflowId.startsWith(BATCH_WORKFLOW_ID_PREFIX) ? workflowId.slice(BATCH_WORKFLOW_ID_PREFIX.length) : workflowId;
  let id = stem.replace(/[^A-Za-z0-9._+-]/g, '-').replace(/\.\.+/g, '.');
  if (id.length > MAX_BATCH_ID) id = id.slice(id.length - MAX_BATCH_ID);
  id = id.replace(/^[^A-Za-z0-9]+/, '');
  return id || 'batch';
}
