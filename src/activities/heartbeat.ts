import { Context } from '@temporalio/activity';

/**
 * Heartbeats at most once per interval: enough for Temporal to see progress and deliver
 * cancellation, without a gRPC call per chunk. The SDK throttles too, but building details
 * for every 1 MiB chunk is wasted work.
 */
export function throttledHeartbeat(intervalMs = 1_000): (details: unknown, force?: boolean) => void {
  let last = 0;
  return (details, force = false) => {
    const now = Date.now();
    if (!force && now - last < intervalMs) return;
    last = now;
    Context.current().heartbeat(details);
  };
}
