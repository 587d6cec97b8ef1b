import { setTimeout as sleep } from 'node:timers/promises';
import type { TensorSignature } from '../release/types.js';
import { generateInputs } from '../smoke/test-inputs.js';
import { seededRandom } from '../smoke/seeded-random.js';

/**
 * Seeded synthetic traffic for a served model, so canary analysis has data where no real
 * clients exist. Open loop: requests start on a fixed schedule (not when the previous one
 * ends), at most `concurrency` in flight; a tick that finds them all busy is counted as
 * skipped, so a slow server shows up as skipped load rather than a silently lower rate.
 * Always bounded: by duration, by request count, and by the signal.
 */
export interface LoadOptions {
  readonly baseUrl: string;
  readonly model: string;
  readonly inputs: readonly TensorSignature[];
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  readonly maxRequests?: number;
  readonly concurrency?: number;
  /** Distinct request keys (x-request-key), so sticky routing spreads over slots. */
  readonly keys?: number;
  readonly seed?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (summary: LoadSummary) => void;
}

export interface LoadSummary {
  readonly sent: number;
  readonly ok: number;
  readonly errors: number;
  readonly skipped: number;
  readonly bySlot: Readonly<Record<string, number>>;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly elapsedSeconds: number;
}

export const MAX_LOAD_SECONDS = 3600;
export const MAX_RATE = 5000;

export async function generateLoad(options: LoadOptions): Promise<LoadSummary> {
  if (!(options.ratePerSecond > 0 && options.ratePerSecond <= MAX_RATE)) throw new RangeError(`rate must be in (0, ${MAX_RATE}] requests/s`);
  if (!(options.durationSeconds > 0 && options.durationSeconds <= MAX_LOAD_SECONDS)) throw new RangeError(`duration must be in (0, ${MAX_LOAD_SECONDS}] s`);
  const concurrency = options.concurrency ?? 16;
  const keys = options.keys ?? 1000;
  const random = seededRandom(options.seed ?? 1);
  const signature = options.inputs.map((i) => ({ ...i, shape: i.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1)) }));
  const url = `${options.baseUrl.replace(/\/$/, '')}/v1/models/${encodeURIComponent(options.model)}/infer`;

  const latencies: number[] = [];
  const bySlot: Record<string, number> = {};
  let sent = 0;
  let ok = 0;
  let errors = 0;
  let skipped = 0;
  let inFlight = 0;
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  const intervalMs = 1000 / options.ratePerSecond;
  const deadline = started + options.durationSeconds * 1000;
  const summary = (): LoadSummary => {
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : 0);
    return {
      sent,
      ok,
      errors,
      skipped,
      bySlot: { ...bySlot },
      latencyMs: { p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? 0) },
      elapsedSeconds: round((performance.now() - started) / 1000),
    };
  };

  const fire = async (index: number) => {
    const inputs = generateInputs(signature, (options.seed ?? 1) * 1_000_003 + index);
    const body = JSON.stringify({
      inputs: Object.fromEntries(inputs.map((t) => [t.name, { dims: t.dims, data: Array.from(new Float32Array(Uint8Array.from(t.data).buffer)) }])),
    });
    const key = `key-${Math.floor(random() * keys)}`;
    const t0 = performance.now();
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-key': key }, body, signal: AbortSignal.timeout(10_000) });
      const answer = (await response.json()) as { slot?: string };
      latencies.push(performance.now() - t0);
      if (response.ok) {
        ok++;
        if (answer.slot) bySlot[answer.slot] = (bySlot[answer.slot] ?? 0) + 1;
      } else errors++;
    } catch {
      errors++;
    }
  };

  let lastProgress = started;
  for (let index = 0; ; index++) {
    const due = started + index * intervalMs;
    if (due >= deadline || (options.maxRequests !== undefined && sent >= options.maxRequests) || options.signal?.aborted) break;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (inFlight >= concurrency) {
      skipped++;
      continue;
    }
    sent++;
    inFlight++;
    const p = fire(index).finally(() => {
      inFlight--;
      pending.delete(p);
    });
    pending.add(p);
    if (options.onProgress && performance.now() - lastProgress >= 1000) {
      lastProgress = performance.now();
      options.onProgress(summary());
    }
  }
  await Promise.all(pending);
  return summary();
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
