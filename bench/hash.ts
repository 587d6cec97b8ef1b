/**
 * Hash benchmark: our streaming sha256File (src/hashing/stream-hash.ts) against coreutils
 * sha256sum on the same page-cached file. Each contender runs as its own process under
 * /usr/bin/time, so both get the same wall-time and peak-RSS method. Both must print the same
 * digest; a mismatch fails the bench. No timing is asserted.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatByteRate, formatBytes, formatRss, formatSeconds, GiB, median, MiB } from './format.js';
import type { HashChildResult } from './hash-child.js';
import { measureCommand } from './measure.js';
import { BenchFailure, type BenchContext, type BenchResult, type BenchRow, type Benchmark, type BenchOptions } from './types.js';

/** Requirement: streaming hash stays under this peak RSS whatever the file size. */
export const RSS_LIMIT_BYTES = 100 * MiB;
/** The small input: RSS measured on it and on the large one shows memory does not grow with size. */
export const SMALL_FILE_BYTES = 256 * MiB;

const GEN_BLOCK_BYTES = 16 * MiB;
const PAGE_BYTES = 4096;
const HASH_CHILD = join(dirname(fileURLToPath(import.meta.url)), 'hash-child.js');

interface Contender {
  readonly id: 'ours' | 'sharded' | 'sha256sum';
  readonly label: string;
  readonly command: string;
  args(file: string): string[];
  /** Digest from the contender's stdout, plus its in-process hashing time when it reports one. */
  parse(stdout: string): { sha256: string; innerSeconds?: number; selfRssBytes?: number };
}

const OURS: Contender = {
  id: 'ours',
  label: 'sha256File (ours, node child)',
  command: process.execPath,
  args: (file) => [HASH_CHILD, file],
  parse(stdout) {
    const r = JSON.parse(stdout) as HashChildResult;
    return { sha256: r.sha256, innerSeconds: r.hashSeconds, selfRssBytes: r.maxRssKiB * 1024 };
  },
};

/** The hash stage's own digest (modelship-root-v2): 64 MiB shards across every core. Not sha256sum's digest by design. */
const SHARDED: Contender = {
  id: 'sharded',
  label: `hash stage, v2 shards on ${availableParallelism()} threads (ours)`,
  command: process.execPath,
  args: (file) => [HASH_CHILD, '--sharded', file],
  parse: OURS.parse,
};

const SHA256SUM: Contender = {
  id: 'sha256sum',
  label: 'sha256sum (coreutils)',
  command: 'sha256sum',
  args: (file) => [file],
  parse(stdout) {
    return { sha256: stdout.split(/\s/, 1)[0] ?? '' };
  },
};

interface Sample {
  readonly wallSeconds: number;
  readonly maxRssBytes: number;
  readonly innerSeconds?: number;
  readonly selfRssBytes?: number;
}

interface CaseResult {
  readonly bytes: number;
  readonly sha256: string;
  readonly samples: Record<Contender['id'], Sample[]>;
}

export const hashBenchmark: Benchmark = {
  name: 'hash',

  plan(options: BenchOptions): string[] {
    return [`hash: ${formatBytes(mainBytes(options))} file and a ${formatBytes(SMALL_FILE_BYTES)} file, each hashed by both contenders ${options.runs}x`];
  },

  async run(ctx: BenchContext): Promise<BenchResult> {
    const main = mainBytes(ctx.options);
    const sizes = [main, SMALL_FILE_BYTES];
    const files = new Map<number, string>();
    const notes: string[] = [];
    try {
      for (const bytes of sizes) {
        const file = join(ctx.workDir, `hash-${bytes}.bin`);
        const how = await ensureFile(file, bytes, ctx);
        files.set(bytes, file);
        notes.push(`input ${formatBytes(bytes)}: ${how}`);
      }

      const nodeFloor = await measureNodeFloor(ctx.options.runs);
      const results: CaseResult[] = [];
      for (const bytes of sizes) {
        const file = files.get(bytes)!;
        const warmSeconds = await warmPageCache(file);
        ctx.progress(`hash: ${formatBytes(bytes)} page cache warmed (${formatByteRate(bytes / warmSeconds)})`);
        results.push(await runCase(file, bytes, ctx));
      }

      const rows: BenchRow[] = [];
      for (const r of results) rows.push(...caseRows(r, ctx.options.runs));

      const oursRss = results.map((r) => `${formatBytes(r.bytes)} -> ${formatRss(maxOf(r.samples.ours, 'maxRssBytes'))}`);
      const [big, small] = results as [CaseResult, CaseResult];
      const growth = maxOf(big.samples.ours, 'maxRssBytes') - maxOf(small.samples.ours, 'maxRssBytes');
      notes.push(
        `ours peak RSS by file size: ${oursRss.join(', ')} (${big.bytes / small.bytes}x the data, ${growth >= 0 ? '+' : ''}${(growth / MiB).toFixed(1)} MiB RSS)`,
        `RSS floor: \`node -e ''\` peaks at ${formatRss(nodeFloor)}; ours adds ${((maxOf(big.samples.ours, 'maxRssBytes') - nodeFloor) / MiB).toFixed(1)} MiB on top (1 MiB read buffer + hash state + module loading)`,
      );
      for (const r of results) {
        const inner = median(r.samples.ours.map((s) => s.innerSeconds ?? NaN));
        const selfRss = maxOf(r.samples.ours, 'selfRssBytes');
        notes.push(
          `${formatBytes(r.bytes)}: ours inside sha256File (no node startup) ${formatSeconds(inner)} = ${formatByteRate(r.bytes / inner)}; ` +
            `child's own maxRSS ${formatRss(selfRss)} (GNU time says ${formatRss(maxOf(r.samples.ours, 'maxRssBytes'))}); digest ${r.sha256.slice(0, 16)}... (both agree)`,
        );
      }
      if (main * 2 > totalmem()) {
        notes.push(`warning: the ${formatBytes(main)} file may not fit in the page cache; figures may include disk reads`);
      }
      return { rows, notes };
    } finally {
      if (!ctx.options.keep) {
        for (const file of files.values()) await rm(file, { force: true });
      }
    }
  },
};

function mainBytes(options: BenchOptions): number {
  return options.sizeGiB * GiB;
}

/** Alternates contender order per run (ours first on even runs), so neither always goes first. */
async function runCase(file: string, bytes: number, ctx: BenchContext): Promise<CaseResult> {
  const samples: CaseResult['samples'] = { ours: [], sharded: [], sha256sum: [] };
  let expected: string | undefined;
  let expectedSharded: string | undefined;
  for (let run = 0; run < ctx.options.runs; run++) {
    const order = run % 2 === 0 ? [OURS, SHARDED, SHA256SUM] : [SHA256SUM, SHARDED, OURS];
    for (const c of order) {
      const m = await measureCommand(c.command, c.args(file));
      const parsed = c.parse(m.stdout);
      if (!/^[0-9a-f]{64}$/.test(parsed.sha256)) throw new BenchFailure(`${c.label} printed no SHA-256 digest: ${m.stdout.trim()}`);
      if (c.id === 'sharded') {
        // Another digest by design; it must at least not depend on the run (thread timing).
        expectedSharded ??= parsed.sha256;
        if (parsed.sha256 !== expectedSharded) throw new BenchFailure(`the sharded digest changed between runs: ${parsed.sha256} vs ${expectedSharded}`);
      }
      else expected ??= parsed.sha256;
      if (c.id !== 'sharded' && parsed.sha256 !== expected) {
        throw new BenchFailure(`digest mismatch on ${formatBytes(bytes)} file: ${c.label} gave ${parsed.sha256}, expected ${expected}`);
      }
      samples[c.id].push({
        wallSeconds: m.wallSeconds,
        maxRssBytes: m.maxRssBytes,
        ...(parsed.innerSeconds !== undefined ? { innerSeconds: parsed.innerSeconds } : {}),
        ...(parsed.selfRssBytes !== undefined ? { selfRssBytes: parsed.selfRssBytes } : {}),
      });
      ctx.progress(
        `hash: ${formatBytes(bytes)} run ${run + 1}/${ctx.options.runs} ${c.id.padEnd(9)} ${formatSeconds(m.wallSeconds)} ${formatByteRate(bytes / m.wallSeconds)} RSS ${formatRss(m.maxRssBytes)}`,
      );
    }
  }
  return { bytes, sha256: expected!, samples };
}

function caseRows(r: CaseResult, runs: number): BenchRow[] {
  const input = `${formatBytes(r.bytes)} file`;
  const theirs = median(r.samples.sha256sum.map((s) => s.wallSeconds));
  return [
    // Same bytes, so the throughput ratio is the inverse wall-time ratio.
    contenderRow(OURS, r, input, runs, theirs),
    contenderRow(SHARDED, r, input, runs, theirs),
    {
      bench: 'hash',
      subject: SHA256SUM.label,
      input,
      runs,
      medianSeconds: theirs,
      throughput: { perSecond: r.bytes / theirs, unit: 'bytes' },
      peakRssBytes: maxOf(r.samples.sha256sum, 'maxRssBytes'),
      ratio: '1.00x (base)',
    },
  ];
}

function contenderRow(c: Contender, r: CaseResult, input: string, runs: number, baseSeconds: number): BenchRow {
  const seconds = median(r.samples[c.id].map((s) => s.wallSeconds));
  const rss = maxOf(r.samples[c.id], 'maxRssBytes');
  return {
    bench: 'hash',
    subject: c.label,
    input,
    runs,
    medianSeconds: seconds,
    throughput: { perSecond: r.bytes / seconds, unit: 'bytes' },
    peakRssBytes: rss,
    ratio: `${(baseSeconds / seconds).toFixed(2)}x`,
    check: rss < RSS_LIMIT_BYTES ? 'RSS < 100 MiB: yes' : 'RSS < 100 MiB: NO',
  };
}

function maxOf(samples: readonly Sample[], key: 'maxRssBytes' | 'selfRssBytes'): number {
  return Math.max(...samples.map((s) => s[key] ?? NaN));
}

/** Peak RSS of a node process that does nothing: the floor under our child's figure. */
async function measureNodeFloor(runs: number): Promise<number> {
  const rss: number[] = [];
  for (let i = 0; i < runs; i++) rss.push((await measureCommand(process.execPath, ['-e', ''])).maxRssBytes);
  return median(rss);
}

/**
 * Reuses `file` when its size matches, else writes it: one random 16 MiB block written
 * repeatedly, with the block counter stamped into every 4 KiB page so no two pages are equal.
 * Written to a temporary name, fsynced (so writeback does not overlap the measurements) and
 * renamed, so an interrupted run never leaves a file of the right size with the wrong content.
 */
async function ensureFile(file: string, bytes: number, ctx: BenchContext): Promise<string> {
  const existing = await stat(file).catch(() => undefined);
  if (existing?.isFile() && existing.size === bytes) return `reused ${file}`;

  ctx.progress(`hash: generating ${formatBytes(bytes)} at ${file}`);
  const started = process.hrtime.bigint();
  const tmp = `${file}.tmp-${process.pid}`;
  const block = randomBytes(GEN_BLOCK_BYTES);
  const handle = await open(tmp, 'w');
  try {
    for (let offset = 0, counter = 0; offset < bytes; offset += GEN_BLOCK_BYTES, counter++) {
      for (let page = 0; page < GEN_BLOCK_BYTES; page += PAGE_BYTES) block.writeUInt32LE(counter, page);
      const length = Math.min(GEN_BLOCK_BYTES, bytes - offset);
      let written = 0;
      while (written < length) written += (await handle.write(block, written, length - written, offset + written)).bytesWritten;
    }
    await handle.sync();
    await handle.close();
    await rename(tmp, file);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw error;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return `generated in ${formatSeconds(seconds)}, ${formatByteRate(bytes / seconds)}, at ${file}`;
}

/** Reads the whole file once so every measured run reads from the page cache. */
async function warmPageCache(file: string): Promise<number> {
  const started = process.hrtime.bigint();
  const buffer = Buffer.allocUnsafe(GEN_BLOCK_BYTES);
  const handle = await open(file, 'r');
  try {
    while ((await handle.read(buffer, 0, buffer.length, null)).bytesRead > 0);
  } finally {
    await handle.close();
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}
