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

/**
 * Heartbeats every `intervalMs` while `work` runs, for stages whose steps give no natural place
 * to (decrypting a key, a registry round trip): a lost worker is then noticed within the
 * stage's heartbeatTimeout. Only for stages that keep no checkpoint in their heartbeat details.
 */
export async function whileHeartbeating<T>(work: () => Promise<T>, intervalMs = 2_000): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), intervalMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
