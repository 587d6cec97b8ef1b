/**
 * OCI benchmark: pushing and pulling the same 1 GiB bundle (four 256 MiB weight files, the ONNX
 * model, model.yaml and the signature and attestations as referrers) to a real registry
 * (distribution, as registry/install.sh pins it, started by registry/start.sh) with `modelship push/pull`
 * against `oras push/pull` v1.3.6. Each run pushes to a fresh repository (so nothing is skipped)
 * and pulls with a cold blob cache; a warm pull (second pull on this host) is measured too, and
 * every case's peak RSS. Every
 * pulled file is compared with the original; a difference fails the bench.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.js';
import { formatByteRate, median, MiB } from './format.js';
import { measureCommand, type Measured } from './measure.js';
import { registryVersion } from '../test/helpers/registry.js';
import { BenchFailure, type BenchContext, type BenchResult, type BenchRow, type Benchmark, type BenchOptions } from './types.js';

const WEIGHT_FILES = 4;
const WEIGHT_BYTES = 256 * MiB;
/** The large bundle keeps the file count and grows each file: per-blob buffers must not grow with it. */
const LARGE_WEIGHT_BYTES = 1024 * MiB;
/** Issue 21's bound on peak RSS of push and pull at 4 GiB (reported, never asserted). */
const RSS_LIMIT = 150 * MiB;
const ORAS = join(PROJECT_ROOT, '.modelship', 'tools', 'oras');
const CLI = join(PROJECT_ROOT, 'bin', 'modelship.js');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** A signed bundle of `files` random weight files of `fileBytes` each under workDir/name (reused with --keep). */
async function makeBundle(ctx: BenchContext, name: string, files: number, fileBytes: number): Promise<string> {
  const dir = join(ctx.workDir, name);
  if (existsSync(join(dir, 'attestations', 'smoke.dsse.json'))) return dir;
  ctx.progress(`writing a bundle of ${files} x ${fileBytes / MiB} MiB weights into ${dir}`);
  await rm(dir, { recursive: true, force: true });
  const { makeSignedBundle } = await import('../test/helpers/bundle-fixture.js');
  const { makeKeys } = await import('../test/helpers/fixtures.js');
  const keysDir = await mkdtemp(join(ctx.workDir, 'oci-keys-'));
  try {
    const keys = await makeKeys(keysDir);
    // Written here in 256 MiB pieces, not passed as extraFiles, so a 4 GiB bundle is never all in
    // memory; makeSignedBundle lists and hashes whatever model/ holds.
    const modelDir = join(dir, 'model');
    await mkdir(modelDir, { recursive: true });
    for (let i = 0; i < files; i++) {
      const path = join(modelDir, `weights-${i}.bin`);
      await writeFile(path, '');
      for (let done = 0; done < fileBytes; done += 256 * MiB) await writeFile(path, randomBytes(Math.min(256 * MiB, fileBytes - done)), { flag: 'a' });
    }
    await makeSignedBundle(dir, keys.signingKey, { name: 'bench-model', version: '1.0.0' });
  } finally {
    await rm(keysDir, { recursive: true, force: true });
  }
  return dir;
}

/** Writes back dirty pages before each measured case, so no case pays for the previous one's writes. */
function settle(): void {
  execFileSync('sync');
}

/** Compares in 16 MiB pieces, so GiB files need no GiB buffers in the runner. */
async function sameFiles(expectedDir: string, actualDir: string, what: string): Promise<void> {
  const piece = 16 * MiB;
  const [a, b] = [Buffer.alloc(piece), Buffer.alloc(piece)];
  for (const name of await readdir(expectedDir)) {
    const expected = await open(join(expectedDir, name));
    const actual = await open(join(actualDir, name)).catch(() => undefined);
    try {
      if (!actual) throw new BenchFailure(`${what}: ${name} is missing`);
      for (let position = 0; ; position += piece) {
        const [ra, rb] = await Promise.all([expected.read(a, 0, piece, position), actual.read(b, 0, piece, position)]);
        if (ra.bytesRead !== rb.bytesRead || !a.subarray(0, ra.bytesRead).equals(b.subarray(0, rb.bytesRead))) throw new BenchFailure(`${what}: ${name} differs from the pushed file`);
        if (ra.bytesRead === 0) break;
      }
    } finally {
      await Promise.all([expected.close(), actual?.close()]);
    }
  }
}

async function folderBytes(dir: string): Promise<{ files: string[]; bytes: number }> {
  const files = (await readdir(dir)).sort();
  let bytes = 0;
  for (const f of files) bytes += (await stat(join(dir, f))).size;
  return { files, bytes };
}

export const ociBenchmark: Benchmark = {
  name: 'oci',
  plan: (options: BenchOptions) => [
    `oci: push and pull of a 1 GiB bundle (${WEIGHT_FILES} x 256 MiB + ONNX) to ${registryVersion()} on loopback, over HTTP and over HTTPS, modelship vs oras v1.3.6`,
    ...(options.ociRssGiB !== undefined ? [`oci: peak RSS of push and cold pull of a ${options.ociRssGiB} GiB bundle (${options.ociRssGiB} x 1 GiB + ONNX), one run each, modelship vs oras v1.3.6`] : []),
  ],
  async run(ctx: BenchContext): Promise<BenchResult> {
    if (!existsSync(ORAS)) throw new BenchFailure(`oras is not built (${ORAS}): run bash registry/install-oras.sh`);
    const bundle = await makeBundle(ctx, 'oci-bundle', WEIGHT_FILES, WEIGHT_BYTES);
    const modelDir = join(bundle, 'model');
    const { files, bytes } = await folderBytes(modelDir);
    const largeGiB = ctx.options.ociRssGiB;
    const largeName = `oci-bundle-${largeGiB}gib`;
    let large: { bytes: number; files: number; rss: Record<'ourPush' | 'orasPush' | 'ourPull' | 'orasPull', Measured> } | undefined;

    const scratch = await mkdtemp(join(ctx.workDir, 'oci-run-'));
    const dataDir = join(scratch, 'registry');
    const port = await freePort();
    execFileSync('bash', [join(PROJECT_ROOT, 'registry', 'start.sh'), '--port', String(port), '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'inherit'] });
    const registry = `127.0.0.1:${port}`;
    const env = (home: string) => ({ ...process.env, MODELSHIP_HOME: home, MODELSHIP_LOG_LEVEL: 'warn', DOCKER_CONFIG: scratch });
    type Case = 'ourPush' | 'orasPush' | 'ourPull' | 'orasPull' | 'ourWarmPull' | 'ourDirectPull' | 'ourTlsPush' | 'orasTlsPush' | 'ourTlsPull' | 'orasTlsPull';
    const times: Record<Case, number[]> = { ourPush: [], orasPush: [], ourPull: [], orasPull: [], ourWarmPull: [], ourDirectPull: [], ourTlsPush: [], orasTlsPush: [], ourTlsPull: [], orasTlsPull: [] };
    // Peak RSS per case (max over runs): memory must stay bounded whatever the bundle's size.
    const rss: Partial<Record<Case, number>> = {};
    const record = (c: Case, m: { wallSeconds: number; maxRssBytes: number }) => {
      times[c].push(m.wallSeconds);
      rss[c] = Math.max(rss[c] ?? 0, m.maxRssBytes);
    };
    try {
      for (let run = 0; run < ctx.options.runs; run++) {
        const ours = `${registry}/bench/ours-${run}:1.0.0`;
        const theirs = `${registry}/bench/oras-${run}:1.0.0`;
        const home = join(scratch, `home-${run}`);
        await mkdir(home, { recursive: true });
        // Alternate who goes first, so neither always meets a warmer registry.
        const pushes = [
          async () => record('ourPush', await measureCommand(process.execPath, [CLI, 'push', bundle, ours], { env: env(home) })),
          async () =>
            record('orasPush', await measureCommand(ORAS, ['push', '--plain-http', '--artifact-type', 'application/vnd.cncf.model.manifest.v1+json', theirs, ...files.map((f) => `${f}:application/vnd.cncf.model.weight.v1.raw`)], { cwd: modelDir, env: env(home) })),
        ];
        for (const push of run % 2 ? pushes.reverse() : pushes) {
          settle();
          await push();
        }
        ctx.progress(`run ${run + 1}: pushes ${times.ourPush.at(-1)!.toFixed(2)} s (ours), ${times.orasPush.at(-1)!.toFixed(2)} s (oras)`);

        const ourOut = join(scratch, `pull-ours-${run}`);
        const orasOut = join(scratch, `pull-oras-${run}`);
        const directOut = join(scratch, `pull-direct-${run}`);
        const pulls = [
          async () => record('ourPull', await measureCommand(process.execPath, [CLI, 'pull', ours, ourOut], { env: env(join(home, 'cold')) })),
          async () => record('ourDirectPull', await measureCommand(process.execPath, [CLI, 'pull', '--no-cache', ours, directOut], { env: env(join(home, 'direct')) })),
          async () => record('orasPull', await measureCommand(ORAS, ['pull', '--plain-http', theirs, '-o', orasOut], { env: env(home) })),
        ];
        for (const pull of run % 2 ? pulls.reverse() : pulls) {
          settle();
          await pull();
        }
        await sameFiles(modelDir, join(ourOut, 'model'), 'modelship pull');
        await sameFiles(modelDir, orasOut, 'oras pull');
        await sameFiles(modelDir, join(directOut, 'model'), 'modelship pull --no-cache');
        const warmOut = join(scratch, `pull-warm-${run}`);
        settle();
        record('ourWarmPull', await measureCommand(process.execPath, [CLI, 'pull', ours, warmOut], { env: env(join(home, 'cold')) }));
        ctx.progress(`run ${run + 1}: pulls ${times.ourPull.at(-1)!.toFixed(2)} s (ours), ${times.ourDirectPull.at(-1)!.toFixed(2)} s (ours, --no-cache), ${times.orasPull.at(-1)!.toFixed(2)} s (oras), ${times.ourWarmPull.at(-1)!.toFixed(2)} s (ours, warm cache)`);
        await Promise.all([ourOut, orasOut, warmOut, directOut, join(home, 'cold'), join(home, 'direct')].map((d) => rm(d, { recursive: true, force: true })));
        // Free the registry's disk between runs: each run's repository holds a full copy's links.
        execFileSync('bash', [join(PROJECT_ROOT, 'registry', 'stop.sh'), '--data-dir', dataDir], { stdio: 'ignore' });
        await rm(join(dataDir, 'storage'), { recursive: true, force: true });
        execFileSync('bash', [join(PROJECT_ROOT, 'registry', 'start.sh'), '--port', String(port), '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'inherit'] });
      }

      // The same over HTTPS, as production registries speak: a second registry with a
      // certificate from a CA made here, trusted by both clients through their CA-file options.
      const { makeTestCa } = await import('../test/helpers/tls.js');
      const ca = await makeTestCa(join(scratch, 'tls'));
      const tlsDataDir = join(scratch, 'registry-tls');
      const tlsPort = await freePort();
      execFileSync('bash', [join(PROJECT_ROOT, 'registry', 'start.sh'), '--port', String(tlsPort), '--data-dir', tlsDataDir, '--tls-cert', ca.certFile, '--tls-key', ca.keyFile], { stdio: ['ignore', 'ignore', 'inherit'] });
      const tlsEnv = (home: string) => ({ ...env(home), MODELSHIP_REGISTRY_CA_FILE: ca.caFile, MODELSHIP_REGISTRY_PLAIN_HTTP: '0' });
      try {
        for (let run = 0; run < ctx.options.runs; run++) {
          const ours = `127.0.0.1:${tlsPort}/bench/ours-${run}:1.0.0`;
          const theirs = `127.0.0.1:${tlsPort}/bench/oras-${run}:1.0.0`;
          const home = join(scratch, `home-tls-${run}`);
          await mkdir(home, { recursive: true });
          const pushes = [
            async () => record('ourTlsPush', await measureCommand(process.execPath, [CLI, 'push', bundle, ours], { env: tlsEnv(home) })),
            async () =>
              record('orasTlsPush', await measureCommand(ORAS, ['push', '--ca-file', ca.caFile, '--artifact-type', 'application/vnd.cncf.model.manifest.v1+json', theirs, ...files.map((f) => `${f}:application/vnd.cncf.model.weight.v1.raw`)], { cwd: modelDir, env: env(home) })),
          ];
          for (const push of run % 2 ? pushes.reverse() : pushes) {
            settle();
            await push();
          }
          const ourOut = join(scratch, `pull-tls-ours-${run}`);
          const orasOut = join(scratch, `pull-tls-oras-${run}`);
          const pulls = [
            async () => record('ourTlsPull', await measureCommand(process.execPath, [CLI, 'pull', ours, ourOut], { env: tlsEnv(join(home, 'cold')) })),
            async () => record('orasTlsPull', await measureCommand(ORAS, ['pull', '--ca-file', ca.caFile, theirs, '-o', orasOut], { env: env(home) })),
          ];
          for (const pull of run % 2 ? pulls.reverse() : pulls) {
            settle();
            await pull();
          }
          await sameFiles(modelDir, join(ourOut, 'model'), 'modelship pull over HTTPS');
          await sameFiles(modelDir, orasOut, 'oras pull over HTTPS');
          ctx.progress(`run ${run + 1} over HTTPS: pushes ${times.ourTlsPush.at(-1)!.toFixed(2)} s (ours), ${times.orasTlsPush.at(-1)!.toFixed(2)} s (oras); pulls ${times.ourTlsPull.at(-1)!.toFixed(2)} s (ours), ${times.orasTlsPull.at(-1)!.toFixed(2)} s (oras)`);
          await Promise.all([ourOut, orasOut, home].map((d) => rm(d, { recursive: true, force: true })));
        }
      } finally {
        execFileSync('bash', [join(PROJECT_ROOT, 'registry', 'stop.sh'), '--data-dir', tlsDataDir], { stdio: 'ignore' });
      }

      if (largeGiB !== undefined) {
        // Memory only, one run: the registry is empty again; every blob is uploaded and, with a
        // fresh MODELSHIP_HOME, every byte fetched. The same sync before each case as above.
        const largeBundle = await makeBundle(ctx, largeName, largeGiB, LARGE_WEIGHT_BYTES);
        const largeModel = join(largeBundle, 'model');
        const { files: largeFiles, bytes: largeBytes } = await folderBytes(largeModel);
        const ours = `${registry}/bench/ours-large:1.0.0`;
        const theirs = `${registry}/bench/oras-large:1.0.0`;
        const home = join(scratch, 'home-large');
        await mkdir(home, { recursive: true });
        const ourOut = join(scratch, 'pull-ours-large');
        const orasOut = join(scratch, 'pull-oras-large');
        const measured: Partial<Record<'ourPush' | 'orasPush' | 'ourPull' | 'orasPull', Measured>> = {};
        settle();
        measured.ourPush = await measureCommand(process.execPath, [CLI, 'push', largeBundle, ours], { env: env(home) });
        settle();
        measured.orasPush = await measureCommand(ORAS, ['push', '--plain-http', '--artifact-type', 'application/vnd.cncf.model.manifest.v1+json', theirs, ...largeFiles.map((f) => `${f}:application/vnd.cncf.model.weight.v1.raw`)], { cwd: largeModel, env: env(home) });
        ctx.progress(`${largeGiB} GiB: pushes ${measured.ourPush.wallSeconds.toFixed(2)} s, ${(measured.ourPush.maxRssBytes / MiB).toFixed(1)} MiB (ours), ${measured.orasPush.wallSeconds.toFixed(2)} s, ${(measured.orasPush.maxRssBytes / MiB).toFixed(1)} MiB (oras)`);
        settle();
        measured.ourPull = await measureCommand(process.execPath, [CLI, 'pull', ours, ourOut], { env: env(join(home, 'cold')) });
        settle();
        measured.orasPull = await measureCommand(ORAS, ['pull', '--plain-http', theirs, '-o', orasOut], { env: env(home) });
        ctx.progress(`${largeGiB} GiB: pulls ${measured.ourPull.wallSeconds.toFixed(2)} s, ${(measured.ourPull.maxRssBytes / MiB).toFixed(1)} MiB (ours), ${measured.orasPull.wallSeconds.toFixed(2)} s, ${(measured.orasPull.maxRssBytes / MiB).toFixed(1)} MiB (oras)`);
        await sameFiles(largeModel, join(ourOut, 'model'), `modelship pull (${largeGiB} GiB)`);
        await sameFiles(largeModel, orasOut, `oras pull (${largeGiB} GiB)`);
        large = { bytes: largeBytes, files: largeFiles.length, rss: measured as Required<typeof measured> };
      }
    } finally {
      execFileSync('bash', [join(PROJECT_ROOT, 'registry', 'stop.sh'), '--data-dir', dataDir], { stdio: 'ignore' });
      if (!ctx.options.keep) await rm(bundle, { recursive: true, force: true });
      // The large bundle too (unless --keep); registry data, blob cache and pulled copies are all under scratch.
      if (!ctx.options.keep && largeGiB !== undefined) await rm(join(ctx.workDir, largeName), { recursive: true, force: true });
      await rm(scratch, { recursive: true, force: true });
    }

    const input = `${(bytes / MiB).toFixed(0)} MiB, ${files.length} files`;
    const row = (subject: string, seconds: number[], base?: number[], peak?: number): BenchRow => {
      const s = median(seconds);
      return {
        bench: 'oci',
        subject,
        input,
        runs: seconds.length,
        medianSeconds: s,
        throughput: { perSecond: bytes / s, unit: 'bytes' },
        ratio: base ? `${(median(base) / s).toFixed(2)}x` : '1.00x (base)',
        ...(peak !== undefined ? { peakRssBytes: peak } : {}),
      };
    };
    const rows: BenchRow[] = [
      row('oras push (v1.3.6)', times.orasPush, undefined, rss.orasPush),
      row('modelship push (ours)', times.ourPush, times.orasPush, rss.ourPush),
      row('oras pull (v1.3.6)', times.orasPull, undefined, rss.orasPull),
      row('modelship pull, cold cache (ours)', times.ourPull, times.orasPull, rss.ourPull),
      row('modelship pull --no-cache (ours)', times.ourDirectPull, times.orasPull, rss.ourDirectPull),
      row('modelship pull, warm cache (ours)', times.ourWarmPull, times.orasPull, rss.ourWarmPull),
      row('oras push over HTTPS (v1.3.6)', times.orasTlsPush, undefined, rss.orasTlsPush),
      row('modelship push over HTTPS (ours)', times.ourTlsPush, times.orasTlsPush, rss.ourTlsPush),
      row('oras pull over HTTPS (v1.3.6)', times.orasTlsPull, undefined, rss.orasTlsPull),
      row('modelship pull over HTTPS, cold cache (ours)', times.ourTlsPull, times.orasTlsPull, rss.ourTlsPull),
    ];
    if (large) {
      const { bytes: lb, rss: m } = large;
      const largeRow = (subject: string, mine: Measured, base?: Measured): BenchRow => ({
        bench: 'oci',
        subject: `${largeGiB} GiB peak RSS: ${subject}`,
        input: `${(lb / MiB).toFixed(0)} MiB, ${large!.files} files`,
        runs: 1,
        medianSeconds: mine.wallSeconds,
        throughput: { perSecond: lb / mine.wallSeconds, unit: 'bytes' },
        peakRssBytes: mine.maxRssBytes,
        ratio: base ? `${(base.wallSeconds / mine.wallSeconds).toFixed(2)}x` : '1.00x (base)',
        ...(base ? { check: mine.maxRssBytes <= RSS_LIMIT ? 'RSS<=150MiB ok' : 'RSS>150MiB' } : {}),
      });
      rows.push(
        largeRow('oras push (v1.3.6)', m.orasPush),
        largeRow('modelship push (ours)', m.ourPush, m.orasPush),
        largeRow('oras pull (v1.3.6)', m.orasPull),
        largeRow('modelship pull, cold cache (ours)', m.ourPull, m.orasPull),
      );
    }
    return {
      rows,
      notes: [
        `push: ours ${formatByteRate(bytes / median(times.ourPush))} vs oras ${formatByteRate(bytes / median(times.orasPush))}; ours also pushes model.yaml, model.jws and two DSSE referrers and updates the sha256-<hex> fallback index, and hashes while it uploads (oras reads every file twice: digest, then upload)`,
        `pull: ours verifies every digest while streaming into the blob cache, then links each bundle file to its cache file (a reflink where the file system has them, else a hard link to the read-only cache file), so a cold pull writes each byte once, like oras and --no-cache; a warm pull fetches no blob but re-hashes every cached blob before linking it (a corrupted one is fetched again)`,
        'over plain HTTP oras uploads each file with sendfile(2) (strace: ~1400 sendfile calls per GiB), so the kernel moves its bytes from the page cache to the socket; Node has no sendfile for sockets, so ours reads each chunk into memory and writes it; over HTTPS, as production registries speak, both must read and encrypt every byte in their own process',
        'both run as child processes on loopback; wall time from spawn to exit; `sync` (untimed) before each case; the registry is restarted with empty storage between runs; registry storage, cache and outputs share one disk',
        ...(large ? [`${largeGiB} GiB rows: one run each, for peak RSS (issue 21: <= 150 MiB for push and pull, reported, never asserted); wall times are one sample on a shared machine`] : []),
      ],
    };
  },
};

