/**
 * Child process for the hash benchmark: hashes one file with our streaming sha256File and
 * prints one JSON line. Run as its own process so the peak RSS that GNU time reports is the
 * hash's, not the bench runner's.
 *
 *   node dist/bench/hash-child.js FILE
 */
import { sha256File } from '../src/hashing/stream-hash.js';

export interface HashChildResult {
  readonly sha256: string;
  readonly size: number;
  /** Time inside sha256File only (no node startup), seconds. */
  readonly hashSeconds: number;
  /** The child's own view of its peak RSS (process.resourceUsage), KiB; a cross-check for GNU time. */
  readonly maxRssKiB: number;
}

const file = process.argv[2];
if (!file || process.argv.length !== 3) {
  process.stderr.write('usage: node dist/bench/hash-child.js FILE\n');
  process.exit(2);
}
const started = process.hrtime.bigint();
const { sha256, size } = await sha256File(file);
const hashSeconds = Number(process.hrtime.bigint() - started) / 1e9;
const result: HashChildResult = { sha256, size, hashSeconds, maxRssKiB: process.resourceUsage().maxRSS };
process.stdout.write(`${JSON.stringify(result)}\n`);
