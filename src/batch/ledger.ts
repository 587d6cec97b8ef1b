import { releaseIdFor } from '../release/ids.js';
import type { BatchTotals, EntryOutcome, EntryRecord, EntryResult, HaltPolicy, Rollout } from './types.js';

/**
 * Every entry's outcome, the totals and the halt rule. Pure and deterministic: the batch
 * workflow keeps one, seeded with the records an earlier run carried over (continue-as-new), so
 * totals always cover the whole batch.
 */
export class BatchLedger {
  private readonly records: EntryRecord[];

  constructor(
    private readonly rollout: Rollout,
    carried: readonly EntryRecord[] = [],
  ) {
    this.records = rollout.entries.map((_, i) => carried[i] ?? { outcome: 'pending' });
  }

  get size(): number {
    return this.records.length;
  }

  get waves(): number {
    return wavesOf(this.rollout);
  }

  record(index: number): EntryRecord {
    return this.records[index]!;
  }

  set(index: number, record: EntryRecord): void {
    this.records[index] = record;
  }

  /** The records of entries [0, cursor), for the next run. */
  carried(cursor: number): EntryRecord[] {
    return this.records.slice(0, cursor);
  }

  totals(): BatchTotals {
    const count: Record<EntryOutcome, number> = { pending: 0, running: 0, released: 0, promoted: 0, rolled_back: 0, failed: 0, skipped: 0 };
    let existing = 0;
    for (const r of this.records) {
      count[r.outcome]++;
      if (r.existing) existing++;
    }
    return {
      entries: this.records.length,
      released: count.released,
      promoted: count.promoted,
      rolledBack: count.rolled_back,
      failed: count.failed,
      skipped: count.skipped,
      existing,
      running: count.running,
      pending: count.pending,
    };
  }

  /** Why the batch must halt now, or undefined. */
  haltReason(): string | undefined {
    const t = this.totals();
    return haltReason(this.rollout.halt, t.failed + t.rolledBack, t.entries);
  }

  results(): EntryResult[] {
    return this.rollout.entries.map((entry, index) => ({
      index,
      wave: waveOf(this.rollout, index),
      name: entry.name,
      version: entry.version,
      releaseId: releaseIdFor(entry.name, entry.version),
      ...this.records[index]!,
    }));
  }
}

export function haltReason(policy: HaltPolicy, failures: number, entries: number): string | undefined {
  if (policy.maxFailures !== undefined && failures > policy.maxFailures) {
    return `${failures} failed or rolled back, more than the ${policy.maxFailures} allowed (halt.maxFailures)`;
  }
  if (policy.maxFailureFraction !== undefined && failures > policy.maxFailureFraction * entries) {
    return `${failures} of ${entries} failed or rolled back, more than ${+(policy.maxFailureFraction * 100).toFixed(2)}% (halt.maxFailureFraction)`;
  }
  return undefined;
}

export function wavesOf(rollout: Pick<Rollout, 'entries' | 'waveSize'>): number {
  return Math.ceil(rollout.entries.length / rollout.waveSize);
}

/** 1-based wave of an entry. */
export function waveOf(rollout: Pick<Rollout, 'waveSize'>, index: number): number {
  return Math.floor(index / rollout.waveSize) + 1;
}
