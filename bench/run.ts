/**
 * Bench runner: `npm run bench [-- --size-gib N --runs N --keep --releases N --oci-rss-gib N --only NAME[,NAME…]]`.
 *
 * Prints machine facts, then one table with a row per measured subject, then notes. To add a
 * benchmark (sandbox inference, serving, ...), write a module in bench/ exporting a Benchmark
 * (bench/types.ts) and list it in BENCHMARKS below. Progress goes to stderr, the report to
 * stdout. Exit 1 on a correctness failure (e.g. digests differ); timings are never asserted.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { availableParallelism, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DATA_DIR } from '../src/paths.js';
import { formatBytes, formatRate, formatRss, formatSeconds, GiB, renderTable } from './format.js';
import { hashBenchmark } from './hash.js';
import { inferenceBenchmark } from './inference.js';
import { servingBenchmark } from './serving.js';
import { modelSigningBenchmark } from './model-signing.js';
import { batchBenchmark } from './batch.js';
import { corpusBenchmark } from './corpus.js';
import { ociBenchmark } from './oci.js';
import { releaseStoreBenchmark } from './release-store.js';
import { throughputBenchmark } from './throughput.js';
import { GNU_TIME } from './measure.js';
import { BenchFailure, type BenchContext, type BenchOptions, type BenchRow, type Benchmark } from './types.js';

const BENCHMARKS: readonly Benchmark[] = [hashBenchmark, modelSigningBenchmark, inferenceBenchmark, corpusBenchmark, servingBenchmark, batchBenchmark, ociBenchmark, releaseStoreBenchmark, throughputBenchmark];

const USAGE = `usage: npm run bench -- [options]
  --size-gib N   size of the main hash input in GiB, integer >= 1 (default 1)
  --runs N       measured runs per case; the table shows the median (default 3)
  --keep         keep generated inputs in .modelship/bench/ and reuse them next time
  --releases N   releases per case of the throughput bench (default 200, or MODELSHIP_BENCH_RELEASES)
  --oci-rss-gib N  oci bench: also peak RSS of push and pull of an N GiB bundle, one run (issue 21: 4)
  --only NAMES   run only these benchmarks, comma-separated, in the runner's order (${BENCHMARKS.map((b) => b.name).join(', ')})
  -h, --help     this text`;

function parseOptions(argv: string[]): { options: BenchOptions; only?: ReadonlySet<string> } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      'size-gib': { type: 'string', default: '1' },
      runs: { type: 'string', default: '3' },
      keep: { type: 'boolean', default: false },
      releases: { type: 'string' },
      'oci-rss-gib': { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const sizeGiB = positiveInt('--size-gib', values['size-gib']);
  const runs = positiveInt('--runs', values.runs);
  const only = values.only !== undefined ? new Set(values.only.split(',').map((name) => name.trim())) : undefined;
  const unknown = [...(only ?? [])].filter((name) => !BENCHMARKS.some((b) => b.name === name));
  if (unknown.length) throw new UsageError(`--only ${values.only}: no benchmark named ${unknown.join(', ')} (have: ${BENCHMARKS.map((b) => b.name).join(', ')})`);
  const releases = values.releases !== undefined ? positiveInt('--releases', values.releases) : undefined;
  const ociRssGiB = values['oci-rss-gib'] !== undefined ? positiveInt('--oci-rss-gib', values['oci-rss-gib']) : undefined;
  return { options: { sizeGiB, runs, keep: values.keep, ...(releases !== undefined ? { releases } : {}), ...(ociRssGiB !== undefined ? { ociRssGiB } : {}) }, ...(only !== undefined ? { only } : {}) };
}

class UsageError extends Error {}

function positiveInt(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`${flag} must be an integer >= 1, got ${JSON.stringify(text)}`);
  return Number(text);
}

function machineFacts(): [string, string][] {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const field = (name: string): string | undefined => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(cpuinfo)?.[1]?.trim();
  const flags = ` ${field('flags') ?? ''} `;
  const cpuExt = ['sha_ni', 'avx2', 'avx512f'].filter((f) => flags.includes(` ${f} `));
  const firstLine = (cmd: string, args: string[]): string => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!.trim();
    } catch {
      return 'not found';
    }
  };
  return [
    ['cpu', `${field('model name') ?? 'unknown'} (${cpuExt.length ? cpuExt.join(', ') : 'no sha_ni/avx2'})`],
    ['cores', String(availableParallelism())],
    ['memory', formatBytes(Math.round(totalmem() / GiB) * GiB)],
    ['kernel', release()],
    ['node', `${process.version} (OpenSSL ${process.versions.openssl})`],
    ['sha256sum', firstLine('sha256sum', ['--version'])],
    ['openssl', firstLine('openssl', ['version'])],
    ['measured with', `${GNU_TIME} (${gnuTimeVersion(firstLine)}) -f '%M %U %S' for peak RSS and CPU time; wall time by the runner (hrtime around spawn); same for every contender`],
    ['load average', `${loadavg().map((l) => l.toFixed(2)).join(' ')} (1/5/15 min, at the start)`],
    // With autogroup on, a busy machine splits CPU per session, not per thread: extra threads buy little.
    ['autogroup', schedAutogroup()],
  ];
}

function schedAutogroup(): string {
  try {
    return readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1' ? 'on (CPU shared per session under load)' : 'off';
  } catch {
    return 'unknown';
  }
}

/** Debian's GNU time 1.9 reports its version as "UNKNOWN"; the package version says it. */
function gnuTimeVersion(firstLine: (cmd: string, args: string[]) => string): string {
  const own = firstLine(GNU_TIME, ['--version']);
  if (!/unknown|not found/i.test(own)) return own;
  const pkg = firstLine('dpkg-query', ['-W', '-f', '${Version}', 'time']);
  return pkg === 'not found' ? own : `GNU time ${pkg} (Debian package)`;
}

function renderRows(rows: readonly BenchRow[]): string {
  const headers = ['Bench', 'Subject', 'Input', 'Runs', 'Median wall', 'Throughput', 'Peak RSS', 'vs base', 'Check'];
  const right = [false, false, true, true, true, true, true, true, false];
  const cells = rows.map((r) => [
    r.bench,
    r.subject,
    r.input,
    String(r.runs),
    r.medianSeconds !== undefined ? formatSeconds(r.medianSeconds) : '',
    r.throughput ? formatRate(r.throughput.perSecond, r.throughput.unit) : '',
    r.peakRssBytes !== undefined ? formatRss(r.peakRssBytes) : '',
    r.ratio ?? '',
    r.check ?? '',
  ]);
  return renderTable(headers, cells, right);
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { options, only } = parsed;
  const selected = BENCHMARKS.filter((b) => only === undefined || only.has(b.name));
  const workDir = join(DATA_DIR, 'bench');
  await mkdir(workDir, { recursive: true });
  const ctx: BenchContext = { options, workDir, progress: (m) => process.stderr.write(`  .. ${m}\n`) };

  const out: string[] = ['# modelship bench', ''];
  for (const [k, v] of machineFacts()) out.push(`${`${k}:`.padEnd(15)}${v}`);
  for (const b of selected) for (const line of b.plan(options)) out.push(`${'input:'.padEnd(15)}${line}`);
  out.push(`${'runs:'.padEnd(15)}${options.runs} per case, median shown; peak RSS is the max over runs; contender order alternates per run`);
  process.stdout.write(`${out.join('\n')}\n\n`);

  const started = process.hrtime.bigint();
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  for (const b of selected) {
    const result = await b.run(ctx);
    rows.push(...result.rows);
    for (const n of result.notes ?? []) notes.push(`[${b.name}] ${n}`);
  }
  const total = Number(process.hrtime.bigint() - started) / 1e9;

  process.stdout.write(`${renderRows(rows)}\n\n`);
  process.stdout.write('vs base: each benchmark\'s rows compared with its baseline row of the same input; the notes say which way is better.\n');
  for (const n of notes) process.stdout.write(`- ${n}\n`);
  process.stdout.write(`\nbench finished in ${formatSeconds(total)}; load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof BenchFailure) process.stderr.write(`\nBENCH FAILED: ${error.message}\n`);
    else process.stderr.write(`\nbench crashed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
