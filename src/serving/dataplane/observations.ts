import type { SlotName } from '../control/model-slot.js';

/** A fixed-capacity buffer that keeps the newest `capacity` items, oldest first when read. */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  private size = 0;
  /** True once an item has been overwritten. */
  wrapped = false;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`ring buffer capacity must be a positive integer, got ${capacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
    else this.wrapped = true;
  }

  /** Oldest first. */
  *[Symbol.iterator](): IterableIterator<T> {
    const start = (this.next - this.size + this.capacity) % this.capacity;
    for (let i = 0; i < this.size; i++) yield this.items[(start + i) % this.capacity]!;
  }

  oldest(): T | undefined {
    return this.size ? this.items[(this.next - this.size + this.capacity) % this.capacity] : undefined;
  }
}

/** One request answered by a slot: when it finished (unix ms), how long inference took, whether it failed, on which version. */
export interface RequestObservation {
  readonly t: number;
  readonly latencyMs: number;
  readonly error: boolean;
  readonly version: string;
}

/** One shadow run: the canary's prediction for a request the stable slot answered, compared to it. */
export interface ShadowComparison {
  readonly t: number;
  readonly agree: boolean;
  readonly maxAbsDiff: number | null;
  readonly stableVersion: string;
  readonly canaryVersion: string;
  /** The canary's inference time. */
  readonly latencyMs: number;
  /** Why they disagree, or the canary's error. */
  readonly reason?: string;
  readonly error: boolean;
}

export interface ObservationsSince {
  readonly since: number;
  /** Server time of the answer: ask again with `since` = this to continue without gaps or repeats. */
  readonly until: number;
  /** The oldest observation still held, or null when none are held. */
  readonly retainedFrom: number | null;
  /** True when observations at or after `since` may have been overwritten (the buffer is full and starts after `since`). */
  readonly truncated: boolean;
  /** Requests the split routed: what canary analysis judges. */
  readonly slots: Record<SlotName, RequestObservation[]>;
  /** Requests whose caller forced the slot (x-modelship-slot) or addressed a version: kept apart, never judged. */
  readonly forced: Record<SlotName, RequestObservation[]>;
  readonly shadow: ShadowComparison[];
}

/** The bounded record of one model's traffic, for canary analysis. */
export class ModelObservations {
  private readonly requests: RingBuffer<RequestObservation & { readonly slot: SlotName }>;
  private readonly forcedRequests: RingBuffer<RequestObservation & { readonly slot: SlotName }>;
  private readonly comparisons: RingBuffer<ShadowComparison>;

  constructor(capacity: number) {
    this.requests = new RingBuffer(capacity);
    this.forcedRequests = new RingBuffer(capacity);
    this.comparisons = new RingBuffer(capacity);
  }

  recordForced(slot: SlotName, t: number, latencyMs: number, error: boolean, version: string): void {
    this.forcedRequests.push({ slot, t, latencyMs, error, version });
  }

  /** Per request: the fields apart, so the one object stored is the only one made (of one shape, no spread). */
  recordRequest(slot: SlotName, t: number, latencyMs: number, error: boolean, version: string): void {
    this.requests.push({ slot, t, latencyMs, error, version });
  }

  recordShadow(comparison: ShadowComparison): void {
    this.comparisons.push(comparison);
  }

  /** Everything with since ≤ t < until (now). */
  since(since: number, now = Date.now()): ObservationsSince {
    const slots: Record<SlotName, RequestObservation[]> = { stable: [], canary: [] };
    for (const { slot, ...o } of this.requests) if (o.t >= since && o.t < now) slots[slot].push(o);
    const forced: Record<SlotName, RequestObservation[]> = { stable: [], canary: [] };
    for (const { slot, ...o } of this.forcedRequests) if (o.t >= since && o.t < now) forced[slot].push(o);
    const shadow: ShadowComparison[] = [];
    for (const c of this.comparisons) if (c.t >= since && c.t < now) shadow.push(c);
    const oldest = [this.requests.oldest()?.t, this.comparisons.oldest()?.t].filter((t): t is number => t !== undefined);
    const truncated = [this.requests, this.comparisons].some((ring) => ring.wrapped && (ring.oldest()?.t ?? 0) > since);
    return { since, until: now, retainedFrom: oldest.length ? Math.min(...oldest) : null, truncated, slots, forced, shadow };
  }
}
