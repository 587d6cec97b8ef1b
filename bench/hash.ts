/**
 * Hash benchmark: our streaming sha256File (src/hashing/stream-hash.ts) and the hash stage's
 * sharded hashing against `openssl dgst -sha256` (the base: one stream with SHA-NI) and coreutils
 * sha256sum on the same page-cached file, plus `openssl speed sha256` (one core hashing memory:
 * the ceiling for one stream). Each file contender runs as its own process under /usr/bin/time,
 * so all get the same wall-time and peak-RSS method. Single-stream contenders must print the
 * same digest; a mismatch fails the bench. Goals are printed beside the ratios, never asserted.
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
/** Goals (issue 21), reported beside the figures: one stream vs openssl dgst, and the shards on every core vs that one stream. */
export const SINGLE_STREAM_GOAL = 0.95;
export const SHARDED_GOAL = 1.8;
/** `openssl speed -seconds N -bytes 1048576 sha256`: 1 MiB blocks, like our reads. */
const OPENSSL_SPEED_SECONDS = 3;

const GEN_BLOCK_BYTES = 16 * MiB;
const PAGE_BYTES = 4096;
const HASH_CHILD = join(dirname(fileURLToPath(import.meta.url)), 'hash-child.js');

interface Contender {
  readonly id: 'ours' | 'sharded' | 'openssl' | 'sha256sum';
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

const OPENSSL_DGST: Contender = {
  id: 'openssl',
  label: 'openssl dgst -sha256 (one stream)',
  command: 'openssl',
  args: (file) => ['dgst', '-sha256', '-r', file],
  parse(stdout) {
    return { sha256: stdout.split(/\s/, 1)[0] ?? '' };
  },
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
  readonly cpuSeconds: number;
  readonly innerSeconds?: number;
  readonly selfRssBytes?: number;
}

interface CaseResult {
  readonly bytes: number;
  readonly sha256: string;
  readonly samples: Record<Contender['id'], Sample[]>;
  /** `openssl speed sha256` bytes/s, one per run (main file only). */
  readonly speed: number[];
}

export const hashBenchmark: Benchmark = {
  name: 'hash',

  plan(options: BenchOptions): string[] {
    return [
      `hash: ${formatBytes(mainBytes(options))} file and a ${formatBytes(SMALL_FILE_BYTES)} file, each hashed by every contender ${options.runs}x; ` +
        `openssl speed -seconds ${OPENSSL_SPEED_SECONDS} -bytes 1048576 sha256 ${options.runs}x beside the ${formatBytes(mainBytes(options))} file`,
    ];
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
        results.push(await runCase(file, bytes, ctx, bytes === main));
      }

      const rows: BenchRow[] = [];
      for (const r of results) rows.push(...caseRows(r, ctx.options.runs));
      notes.push(...ratioNotes(results[0]!));

      const oursRss = results.map((r) => `${formatBytes(r.bytes)} -> ${formatRss(maxOf(r.samples.ours, 'maxRssBytes'))}`);
      const [big, small] = results as [CaseResult, CaseResult];
      const growth = maxOf(big.samples.ours, 'maxRssBytes') - maxOf(small.samples.ours, 'maxRssBytes');
      notes.push(
        `ours peak RSS by file size: ${oursRss.join(', ')} (${big.bytes / small.bytes}x the data, ${growth >= 0 ? '+' : ''}${(growth / MiB).toFixed(1)} MiB RSS)`,
        `RSS floor: \`node -e ''\` peaks at ${formatRss(nodeFloor)}; ours adds ${((maxOf(big.samples.ours, 'maxRssBytes') - nodeFloor) / MiB).toFixed(1)} MiB on top (2 MiB double read buffer + hash state + module loading)`,
      );
      for (const r of results) {
        const inner = median(r.samples.ours.map((s) => s.innerSeconds ?? NaN));
        const selfRss = maxOf(r.samples.ours, 'selfRssBytes');
        notes.push(
          `${formatBytes(r.bytes)}: ours inside sha256File (no node startup) ${formatSeconds(inner)} = ${formatByteRate(r.bytes / inner)}; ` +
            `child's own maxRSS ${formatRss(selfRss)} (GNU time says ${formatRss(maxOf(r.samples.ours, 'maxRssBytes'))}); digest ${r.sha256.slice(0, 16)}... (ours, openssl and sha256sum agree)`,
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

/**
 * Alternates contender order per run (reversed on odd runs), so none always goes first; ours and
 * openssl dgst sit next to each other, so their ratio sees the same machine.
 */
async function runCase(file: string, bytes: number, ctx: BenchContext, withSpeed: boolean): Promise<CaseResult> {
  const samples: CaseResult['samples'] = { ours: [], sharded: [], openssl: [], sha256sum: [] };
  const speed: number[] = [];
  let expected: string | undefined;
  let expectedSharded: string | undefined;
  for (let run = 0; run < ctx.options.runs; run++) {
    if (withSpeed) {
      speed.push(await opensslSpeed());
      ctx.progress(`hash: run ${run + 1}/${ctx.options.runs} openssl speed sha256 ${formatByteRate(speed.at(-1)!)}`);
    }
    const forward = [OURS, OPENSSL_DGST, SHARDED, SHA256SUM];
    const order = run % 2 === 0 ? forward : [...forward].reverse();
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
        cpuSeconds: m.cpuSeconds,
        ...(parsed.innerSeconds !== undefined ? { innerSeconds: parsed.innerSeconds } : {}),
        ...(parsed.selfRssBytes !== undefined ? { selfRssBytes: parsed.selfRssBytes } : {}),
      });
      ctx.progress(
        `hash: ${formatBytes(bytes)} run ${run + 1}/${ctx.options.runs} ${c.id.padEnd(9)} ${formatSeconds(m.wallSeconds)} ${formatByteRate(bytes / m.wallSeconds)} CPU ${formatSeconds(m.cpuSeconds)} RSS ${formatRss(m.maxRssBytes)}`,
      );
    }
  }
  return { bytes, sha256: expected!, samples, speed };
}

/** One core hashing memory with SHA-NI, bytes/s (`-mr` prints `+F:<n>:sha256:<bytes per second>`). */
async function opensslSpeed(): Promise<number> {
  const m = await measureCommand('openssl', ['speed', '-mr', '-seconds', String(OPENSSL_SPEED_SECONDS), '-bytes', '1048576', 'sha256']);
  const match = /^\+F:\d+:sha256:([\d.]+)$/m.exec(m.stdout);
  if (!match) throw new BenchFailure(`openssl speed printed no sha256 figure: ${m.stdout.trim()}`);
  return Number(match[1]);
}

/** The goals' ratios on the main file, each from the same run's medians. */
function ratioNotes(r: CaseResult): string[] {
  const wall = (id: Contender['id']) => median(r.samples[id].map((s) => s.wallSeconds));
  const inner = (id: Contender['id']) => median(r.samples[id].map((s) => s.innerSeconds ?? NaN));
  const openssl = wall('openssl');
  const single = openssl / wall('ours');
  const sharded = openssl / wall('sharded');
  const speed = median(r.speed);
  const cpu = (id: Contender['id']) => median(r.samples[id].map((s) => s.cpuSeconds));
  const verdict = (ratio: number, goal: number) => `${ratio.toFixed(2)}x (goal >= ${goal}x: ${ratio >= goal ? 'met' : 'NOT met'})`;
  return [
    `${formatBytes(r.bytes)}: single-stream sha256File vs openssl dgst -sha256, whole processes: ${verdict(single, SINGLE_STREAM_GOAL)}; ` +
      `inside sha256File (no node start-up) ${(openssl / inner('ours')).toFixed(2)}x`,
    `${formatBytes(r.bytes)}: sharded hash stage on ${availableParallelism()} threads vs one openssl dgst stream, whole processes: ${verdict(sharded, SHARDED_GOAL)}; ` +
      `inside hashFilesInParallel ${(openssl / inner('sharded')).toFixed(2)}x`,
    `openssl speed sha256 (1 MiB blocks in memory, one core): ${formatByteRate(speed)}; as fractions of it: openssl dgst ${(r.bytes / openssl / speed).toFixed(2)}, ` +
      `sha256File ${(r.bytes / wall('ours') / speed).toFixed(2)}, sharded ${(r.bytes / wall('sharded') / speed).toFixed(2)} (${availableParallelism()} cores: at most ${availableParallelism()}.00)`,
    // Wall / CPU is the share of a core each got: when it is about the same for sharded and one stream, the scheduler (not our code) capped the threads.
    `${formatBytes(r.bytes)}: median CPU seconds (user + sys) and cores used (CPU / wall): ` +
      (['ours', 'sharded', 'openssl', 'sha256sum'] as const).map((id) => `${id} ${formatSeconds(cpu(id))} (${(cpu(id) / wall(id)).toFixed(2)})`).join(', '),
  ];
}

/** Base: openssl dgst. Same bytes, so the throughput ratio is the inverse wall-time ratio (higher is better). */
function caseRows(r: CaseResult, runs: number): BenchRow[] {
  const input = `${formatBytes(r.bytes)} file`;
  const base = median(r.samples.openssl.map((s) => s.wallSeconds));
  const rows = [
    contenderRow(OURS, r, input, runs, base, SINGLE_STREAM_GOAL),
    contenderRow(SHARDED, r, input, runs, base, SHARDED_GOAL),
    { ...contenderRow(OPENSSL_DGST, r, input, runs, base), ratio: '1.00x (base)' },
    contenderRow(SHA256SUM, r, input, runs, base),
  ];
  if (r.speed.length) {
    rows.push({
      bench: 'hash',
      subject: 'openssl speed sha256 (memory, 1 core)',
      input: '1 MiB blocks',
      runs: r.speed.length,
      throughput: { perSecond: median(r.speed), unit: 'bytes' },
      ratio: `${(median(r.speed) / (r.bytes / base)).toFixed(2)}x`,
    });
  }
  return rows;
}

function contenderRow(c: Contender, r: CaseResult, input: string, runs: number, baseSeconds: number, goal?: number): BenchRow {
  const seconds = median(r.samples[c.id].map((s) => s.wallSeconds));
  const rss = maxOf(r.samples[c.id], 'maxRssBytes');
  const ratio = baseSeconds / seconds;
  const ours = c.id === 'ours' || c.id === 'sharded';
  const checks = [
    ...(ours ? [rss < RSS_LIMIT_BYTES ? 'RSS < 100 MiB: yes' : 'RSS < 100 MiB: NO'] : []),
    ...(goal !== undefined ? [`goal >= ${goal}x: ${ratio >= goal ? 'met' : 'NOT met'}`] : []),
  ];
  return {
    bench: 'hash',
    subject: c.label,
    input,
    runs,
    medianSeconds: seconds,
    throughput: { perSecond: r.bytes / seconds, unit: 'bytes' },
    peakRssBytes: rss,
    ratio: `${ratio.toFixed(2)}x`,
    ...(checks.length ? { check: checks.join('; ') } : {}),
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
