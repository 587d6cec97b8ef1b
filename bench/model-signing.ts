/**
 * modelship against OpenSSF model signing (`model_signing` from PyPI, in the project venv) on the
 * same data in the same run: both sign a model folder with the same ECDSA P-256 key into the same
 * format (Sigstore bundle, "files" serialization), so both must produce the same subject digest,
 * or the bench fails. Each run is a whole CLI process under GNU time (startup included: that is
 * what a user waits for). Cases: a folder of many files, a folder with one multi-GiB file, and a
 * re-sign after one small file changed (ours with --digest-cache; model_signing has no cache).
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, open, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { PROJECT_ROOT } from '../src/paths.js';
import { formatBytes, formatRss, formatSeconds, GiB, median, MiB } from './format.js';
import { measureCommand, type Measured } from './measure.js';
import { BenchFailure, type BenchContext, type BenchOptions, type BenchResult, type BenchRow, type Benchmark } from './types.js';

const MANY_FILES = 2048;
const MANY_FILE_BYTES = 512 * 1024;
const MODELSHIP = join(PROJECT_ROOT, 'bin', 'modelship.js');
const MODEL_SIGNING = process.env.MODELSHIP_MODEL_SIGNING ?? join(PROJECT_ROOT, '.venv', 'bin', 'model_signing');

interface Case {
  readonly name: string;
  readonly input: string;
  readonly dir: string;
  readonly bytes: number;
  /** Before each measured run (the incremental case changes one small file). */
  readonly beforeRun?: () => Promise<void>;
  /** Our extra arguments (the incremental case adds the digest cache). */
  readonly ourArgs?: readonly string[];
}

interface Samples {
  readonly ours: Measured[];
  readonly theirs: Measured[];
}

export const modelSigningBenchmark: Benchmark = {
  name: 'model-signing',

  plan(options: BenchOptions): string[] {
    return [
      `model-signing: modelship sign --format oms vs model_signing sign key (PyPI), ${options.runs}x each on: ` +
        `${MANY_FILES} files of ${formatBytes(MANY_FILE_BYTES)}; one ${formatBytes(largeBytes(options))} file; a re-sign after a README change`,
    ];
  },

  async run(ctx: BenchContext): Promise<BenchResult> {
    await stat(MODEL_SIGNING).catch(() => {
      throw new BenchFailure(`model_signing is not installed at ${MODEL_SIGNING}: run npm run setup (it installs requirements.txt into .venv)`);
    });
    const work = join(ctx.workDir, 'model-signing');
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    const key = join(work, 'p256.pem');
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
    try {
      const many = join(work, 'many');
      ctx.progress(`model-signing: writing ${MANY_FILES} files of ${formatBytes(MANY_FILE_BYTES)}`);
      for (let i = 0; i < MANY_FILES; i++) await writeData(join(many, `shard-${String(i).padStart(5, '0')}.bin`), MANY_FILE_BYTES, i);
      await writeFile(join(many, 'README.md'), '# bench model\n');
      const large = join(work, 'large');
      ctx.progress(`model-signing: writing one ${formatBytes(largeBytes(ctx.options))} file`);
      await writeData(join(large, 'weights.bin'), largeBytes(ctx.options), 7);
      // Models are written long before they are signed; fresh mtimes would make the cache treat them as racy.
      const old = new Date(Date.now() - 3_600_000);
      for (const dir of [many, large]) execFileSync('find', [dir, '-type', 'f', '-exec', 'touch', '-d', old.toISOString(), '{}', '+']);
      await utimes(join(many, 'README.md'), old, old);

      const cache = join(work, 'digests.json');
      let edits = 0;
      const cases: Case[] = [
        { name: 'many files', input: `${MANY_FILES} files, ${formatBytes(MANY_FILES * MANY_FILE_BYTES)}`, dir: many, bytes: MANY_FILES * MANY_FILE_BYTES + 14 },
        { name: 'large file', input: `1 file, ${formatBytes(largeBytes(ctx.options))}`, dir: large, bytes: largeBytes(ctx.options) },
        {
          name: 're-sign after a README change',
          input: `${MANY_FILES + 1} files, README changed`,
          dir: many,
          bytes: 0,
          ourArgs: ['--digest-cache', cache],
          beforeRun: async () => {
            await appendFile(join(many, 'README.md'), `edit ${++edits}\n`);
          },
        },
      ];
      // Fill the cache once (a first signing with the cache on), as a user's previous release would.
      await measureCommand(process.execPath, [MODELSHIP, 'sign', many, '--format', 'oms', '--key', key, '--out', join(work, 'warm.sig'), '--digest-cache', cache, '--json']);

      const rows: BenchRow[] = [];
      const notes: string[] = [];
      for (const c of cases) {
        const samples = await runCase(c, key, work, ctx);
        rows.push(...caseRows(c, samples, ctx.options.runs));
        const ours = median(samples.ours.map((m) => m.wallSeconds));
        const theirs = median(samples.theirs.map((m) => m.wallSeconds));
        notes.push(`model-signing ${c.name}: ours ${formatSeconds(ours)} vs model_signing ${formatSeconds(theirs)} = ${(theirs / ours).toFixed(2)}x faster; same subject digest in every run`);
      }
      notes.push('model-signing: wall time includes process start (node ~0.1 s, python + model_signing imports ~0.4 s); both use every core across files; a single file is one SHA-256 stream in this format for both');
      return { rows, notes };
    } finally {
      if (!ctx.options.keep) await rm(work, { recursive: true, force: true });
    }
  },
};

function largeBytes(options: BenchOptions): number {
  return Math.max(2, options.sizeGiB) * GiB;
}

async function runCase(c: Case, key: string, work: string, ctx: BenchContext): Promise<Samples> {
  const samples: Samples = { ours: [], theirs: [] };
  for (let run = 0; run < ctx.options.runs; run++) {
    for (const who of run % 2 === 0 ? (['ours', 'theirs'] as const) : (['theirs', 'ours'] as const)) {
      await c.beforeRun?.();
      const sig = join(work, `${who}.sig`);
      const m =
        who === 'ours'
          ? await measureCommand(process.execPath, [MODELSHIP, 'sign', c.dir, '--format', 'oms', '--key', key, '--out', sig, '--json', ...(c.ourArgs ?? [])])
          : await measureCommand(MODEL_SIGNING, ['sign', 'key', c.dir, '--private_key', key, '--signature', sig]);
      const subject = await subjectDigest(sig);
      // Both signed the same folder in the same state: the same subject digest, or one of us is wrong.
      const other = join(work, `${who === 'ours' ? 'theirs' : 'ours'}.sig`);
      if (c.beforeRun === undefined && run > 0 && subject !== (await subjectDigest(other))) {
        throw new BenchFailure(`${c.name}: modelship and model_signing disagree on the subject digest`);
      }
      if (who === 'ours' && c.beforeRun) {
        const report = JSON.parse(m.stdout) as { bytesHashed: number; bytesFromCache: number };
        if (report.bytesHashed > 64 * 1024) throw new BenchFailure(`${c.name}: the cached re-sign hashed ${report.bytesHashed} bytes`);
      }
      samples[who].push(m);
      ctx.progress(`model-signing: ${c.name} run ${run + 1}/${ctx.options.runs} ${who.padEnd(6)} ${formatSeconds(m.wallSeconds)} RSS ${formatRss(m.maxRssBytes)}`);
    }
  }
  if (c.beforeRun) {
    // Same state for a final cross-check: sign once more each, no edit in between.
    const ours = join(work, 'ours.sig');
    const theirs = join(work, 'theirs.sig');
    await measureCommand(process.execPath, [MODELSHIP, 'sign', c.dir, '--format', 'oms', '--key', key, '--out', ours, ...(c.ourArgs ?? [])]);
    await measureCommand(MODEL_SIGNING, ['sign', 'key', c.dir, '--private_key', key, '--signature', theirs]);
    if ((await subjectDigest(ours)) !== (await subjectDigest(theirs))) throw new BenchFailure(`${c.name}: the cached re-sign's subject digest differs from model_signing's`);
  }
  return samples;
}

async function subjectDigest(sigPath: string): Promise<string> {
  const bundle = JSON.parse(await readFile(sigPath, 'utf8')) as { dsseEnvelope: { payload: string } };
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as { subject: Array<{ digest: { sha256: string } }> };
  return statement.subject[0]!.digest.sha256;
}

function caseRows(c: Case, s: Samples, runs: number): BenchRow[] {
  const ours = median(s.ours.map((m) => m.wallSeconds));
  const theirs = median(s.theirs.map((m) => m.wallSeconds));
  const rate = (seconds: number) => (c.bytes ? { throughput: { perSecond: c.bytes / seconds, unit: 'bytes' as const } } : {});
  return [
    {
      bench: 'model-signing',
      subject: `modelship sign --format oms${c.ourArgs ? ' --digest-cache' : ''}`,
      input: c.input,
      runs,
      medianSeconds: ours,
      ...rate(ours),
      peakRssBytes: Math.max(...s.ours.map((m) => m.maxRssBytes)),
      ratio: `${(theirs / ours).toFixed(2)}x`,
    },
    {
      bench: 'model-signing',
      subject: 'model_signing sign key (PyPI 1.1.1)',
      input: c.input,
      runs,
      medianSeconds: theirs,
      ...rate(theirs),
      peakRssBytes: Math.max(...s.theirs.map((m) => m.maxRssBytes)),
      ratio: '1.00x (base)',
    },
  ];
}

/** `bytes` of distinct content (a random block with a counter in every 4 KiB page). */
async function writeData(path: string, bytes: number, seed: number): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const block = randomBytes(Math.min(bytes, 16 * MiB));
  const handle = await open(path, 'w');
  try {
    for (let offset = 0, counter = 0; offset < bytes; offset += block.length, counter++) {
      for (let page = 0; page < block.length; page += 4096) block.writeUInt32LE(counter * 65_536 + seed, page);
      const length = Math.min(block.length, bytes - offset);
      await handle.write(block, 0, length, offset);
    }
  } finally {
    await handle.close();
  }
}

