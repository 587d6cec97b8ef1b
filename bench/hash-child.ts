/**
 * Child process for the hash benchmark: hashes one file with our streaming sha256File and
 * prints one JSON line. Run as its own process so the peak RSS that GNU time reports is the
 * hash's, not the bench runner's.
 *
 *   node dist/bench/hash-child.js FILE              plain SHA-256, one stream (what sha256sum computes)
 *   node dist/bench/hash-child.js --sharded FILE    the hash stage's digest: modelship-root-v2 shards on every core
 */
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { sha256File } from '../src/hashing/stream-hash.js';
import { hashFilesInParallel } from '../src/hashing/parallel-hash.js';
import { CURRENT_DIGEST_RULE } from '../src/hashing/digest-rule.js';

export interface HashChildResult {
  readonly sha256: string;
  readonly size: number;
  /** Time inside sha256File only (no node startup), seconds. */
  readonly hashSeconds: number;
  /** The child's own view of its peak RSS (process.resourceUsage), KiB; a cross-check for GNU time. */
  readonly maxRssKiB: number;
}

const sharded = process.argv[2] === '--sharded';
const file = process.argv[sharded ? 3 : 2];
if (!file || process.argv.length !== (sharded ? 4 : 3)) {
  process.stderr.write('usage: node dist/bench/hash-child.js [--sharded] FILE\n');
  process.exit(2);
}
const started = process.hrtime.bigint();
const { sha256, size } = sharded ? await hashSharded(file) : await sha256File(file);
const hashSeconds = Number(process.hrtime.bigint() - started) / 1e9;
const result: HashChildResult = { sha256, size, hashSeconds, maxRssKiB: process.resourceUsage().maxRSS };
process.stdout.write(`${JSON.stringify(result)}\n`);

async function hashSharded(path: string): Promise<{ sha256: string; size: number }> {
  const size = (await stat(path)).size;
  const [hashed] = await hashFilesInParallel(dirname(path), [{ path: basename(path), size }], { rule: CURRENT_DIGEST_RULE });
  return { sha256: hashed!.sha256, size };
}
