import { createHash } from 'node:crypto';

/**
 * How a file's digest is computed, recorded in model.yaml so verifiers recompute it the same way.
 *
 * - `modelship-root-v1`: every file's digest is the SHA-256 of its bytes.
 * - `modelship-root-v2`: a file is cut into shards of `shardBytes` (the last one shorter).
 *   A file of one shard (size ≤ shardBytes, including empty files) has the SHA-256 of its
 *   bytes, exactly as in v1 and as `sha256sum` prints. A larger file's digest is the SHA-256 of
 *   `modelship-shards-v1 <shardBytes> <size>\n` followed by one line per shard: the shard's
 *   lowercase hex SHA-256 and `\n`. Shards hash independently, so one big file spreads over
 *   every core and a crash loses at most the shards in flight; the digest depends on the shard
 *   size, never on how many workers ran. Checkable with coreutils:
 *     { printf 'modelship-shards-v1 %d %d\n' S SIZE; split -b S --filter='sha256sum' FILE | cut -c1-64; } | sha256sum
 *
 * Both rules build the root digest the same way (see root-digest.ts).
 */
export type DigestRule =
  | { readonly name: 'modelship-root-v1' }
  | { readonly name: 'modelship-root-v2'; readonly shardBytes: number };

export type DigestRuleName = DigestRule['name'];
export const DIGEST_RULE_NAMES: readonly DigestRuleName[] = ['modelship-root-v1', 'modelship-root-v2'];

/** Big enough that per-shard overhead vanishes, small enough to balance 2–64 cores and resume finely. */
export const DEFAULT_SHARD_BYTES = 64 * 1024 * 1024;
/** Below this a hostile manifest could make a verifier do millions of tiny reads. */
export const MIN_SHARD_BYTES = 1024 * 1024;

export const CURRENT_DIGEST_RULE: DigestRule = { name: 'modelship-root-v2', shardBytes: DEFAULT_SHARD_BYTES };

export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export function shardCount(size: number, rule: DigestRule): number {
  if (rule.name === 'modelship-root-v1') return 1;
  return Math.max(1, Math.ceil(size / rule.shardBytes));
}

export function shardRange(size: number, rule: DigestRule, index: number): ByteRange {
  if (rule.name === 'modelship-root-v1') return { start: 0, end: size };
  const start = index * rule.shardBytes;
  return { start, end: Math.min(size, start + rule.shardBytes) };
}

/** The file digest from its shard digests (hex, in order). */
export function combineShardDigests(size: number, rule: DigestRule, shards: readonly string[]): string {
  const expected = shardCount(size, rule);
  if (shards.length !== expected) throw new Error(`a file of ${size} bytes has ${expected} shard(s) under ${rule.name}, got ${shards.length} digest(s)`);
  if (expected === 1) return shards[0]!;
  const hash = createHash('sha256').update(`modelship-shards-v1 ${(rule as { shardBytes: number }).shardBytes} ${size}\n`);
  for (const shard of shards) hash.update(`${shard}\n`);
  return hash.digest('hex');
}

/** The file digest of bytes already in memory (small files, tests). */
export function fileDigestOfBytes(bytes: Uint8Array, rule: DigestRule): string {
  const shards: string[] = [];
  for (let i = 0; i < shardCount(bytes.length, rule); i++) {
    const { start, end } = shardRange(bytes.length, rule, i);
    shards.push(createHash('sha256').update(bytes.subarray(start, end)).digest('hex'));
  }
  return combineShardDigests(bytes.length, rule, shards);
}

export function sameDigestRule(a: DigestRule, b: DigestRule): boolean {
  return a.name === b.name && (a.name === 'modelship-root-v1' || a.shardBytes === (b as { shardBytes: number }).shardBytes);
}

export function describeDigestRule(rule: DigestRule): string {
  return rule.name === 'modelship-root-v1' ? rule.name : `${rule.name} (${rule.shardBytes / (1024 * 1024)} MiB shards)`;
}
