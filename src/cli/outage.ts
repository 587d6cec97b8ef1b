import { setTimeout as sleep } from 'node:timers/promises';
import { isGrpcServiceError, ServiceError } from '@temporalio/client';

/**
 * gRPC codes a Temporal frontend answers with while it, or its database, is down or restarting:
 * no connection (UNAVAILABLE), a call cut off (DEADLINE_EXCEEDED, CANCELLED, UNKNOWN), or the
 * server up before its shards or persistence are (INTERNAL, RESOURCE_EXHAUSTED, ABORTED). None of
 * them says anything about the workflow: asked again later, the same call can succeed.
 */
// CANCELLED 1, UNKNOWN 2, DEADLINE_EXCEEDED 4, RESOURCE_EXHAUSTED 8, ABORTED 10, INTERNAL 13, UNAVAILABLE 14.
const OUTAGE_CODES: ReadonlySet<number> = new Set([1, 2, 4, 8, 10, 13, 14]);

/** err is the server being unreachable or not ready (after the client's own ~20 s of gRPC retries), not an answer about the workflow. */
export function isServerOutage(err: unknown): boolean {
  const cause = err instanceof ServiceError ? err.cause : err;
  if (isGrpcServiceError(cause)) return OUTAGE_CODES.has(cause.code);
  return err instanceof ServiceError && cause === undefined;
}

/**
 * The workflow's result, waited for through outages of the Temporal server or its database: a
 * CLI following a release (or a batch) keeps following while the cluster restarts, instead of
 * reporting the release as failed when it is not. Gives up after `maxOutageMs` of one continuous
 * outage, rethrowing the last error; `onOutage` is called once per outage (to tell the user).
 */
export async function resultThroughOutages<T>(
  result: () => Promise<T>,
  options: { maxOutageMs?: number; retryMs?: number; onOutage?: (err: unknown) => void; onReconnect?: () => void } = {},
): Promise<T> {
  const maxOutageMs = options.maxOutageMs ?? 15 * 60_000;
  let outageSince: number | undefined;
  for (;;) {
    try {
      const value = await result();
      if (outageSince !== undefined) options.onReconnect?.();
      return value;
    } catch (err) {
      if (!isServerOutage(err)) throw err;
      if (outageSince === undefined) {
        outageSince = Date.now();
        options.onOutage?.(err);
      } else if (Date.now() - outageSince > maxOutageMs) throw err;
      await sleep(options.retryMs ?? 1_000);
    }
  }
}
