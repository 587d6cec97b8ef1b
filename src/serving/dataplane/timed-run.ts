import type ort from 'onnxruntime-node';

export interface TimedRun {
  readonly results: ort.InferenceSession.OnnxValueMapType;
  /** The model's own time: from onnxruntime starting the run to its end. */
  readonly serviceMs: number;
}

/**
 * Runs a session and measures its service time, not the wait before it. onnxruntime-node runs
 * a session synchronously in a `setImmediate` callback (dist/backend.js, pinned with the
 * package), so the time around `await session.run()` also holds every callback queued ahead of
 * it: on a busy process that wait, the same for every slot, dwarfed a 20 ms regression and the
 * canary analysis passed a slower model. Two immediates queued on either side of the run's, in
 * the same synchronous turn, run right before and right after it: their clock readings bound
 * the run itself. Errors (thrown by the run) keep the same timing.
 */
export async function timedRun(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<TimedRun> {
  let started = 0;
  let ended = 0;
  setImmediate(() => (started = performance.now()));
  const run = session.run(feeds);
  const done = new Promise<void>((resolve) => setImmediate(() => resolve(void (ended = performance.now()))));
  try {
    const results = await run;
    await done;
    return { results, serviceMs: serviceMs(started, ended) };
  } catch (err) {
    await done;
    throw Object.assign(err instanceof Error ? err : new Error(String(err)), { serviceMs: serviceMs(started, ended) });
  }
}

/** Guarded: if a future onnxruntime ran elsewhere, the bounds would still be ordered. */
function serviceMs(started: number, ended: number): number {
  return Math.max(0, ended - started);
}
