/**
 * OCI benchmark: pushing and pulling the same 1 GiB bundle (four 256 MiB weight files, the ONNX
 * model, model.yaml and the signature and attestations as referrers) to a real registry
 * (Debian's docker-registry 2.8.2 started by registry/start.sh) with `modelship push/pull`
 * against `oras push/pull` v1.3.6. Each run pushes to a fresh repository (so nothing is skipped)
 * and pulls with a cold blob cache; a warm pull (second pull on this host) is measured too, and
 * every case's peak RSS. Every
 * pulled file is compared with the original; a difference fails the bench.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.js';
import { formatByteRate, median, MiB } from './format.js';
import { measureCommand } from './measure.js';
import { BenchFailure, type BenchContext, type BenchResult, type BenchRow, type Benchmark, type BenchOptions } from './types.js';

const WEIGHT_FILES = 4;
const WEIGHT_BYTES = 256 * MiB;
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

/** A signed bundle of 1 GiB under workDir (reused with --keep). */
async function makeBundle(ctx: BenchContext): Promise<string> {
  const dir = join(ctx.workDir, 'oci-bundle');
  if (existsSync(join(dir, 'attestations', 'smoke.dsse.json'))) return dir;
  ctx.progress(`writing a bundle of ${WEIGHT_FILES} x 256 MiB weights into ${dir}`);
  await rm(dir, { recursive: true, force: true });
  const { makeSignedBundle } = await import('../test/helpers/bundle-fixture.js');
  const { makeKeys } = await import('../test/helpers/fixtures.js');
  const keys = await makeKeys(await mkdtemp(join(ctx.workDir, 'oci-keys-')));
  const extraFiles: Record<string, Uint8Array> = {};
  for (let i = 0; i < WEIGHT_FILES; i++) extraFiles[`weights-${i}.bin`] = randomBytes(WEIGHT_BYTES);
  await makeSignedBundle(dir, keys.signingKey, { name: 'bench-model', version: '1.0.0', extraFiles });
  return dir;
}

/** Writes back dirty pages before each measured case, so no case pays for the previous one's writes. */
function settle(): void {
  execFileSync('sync');
}

async function sameFiles(expectedDir: string, actualDir: string, what: string): Promise<void> {
  for (const name of await readdir(expectedDir)) {
    const [a, b] = await Promise.all([readFile(join(expectedDir, name)), readFile(join(actualDir, name)).catch(() => undefined)]);
    if (!b || !a.equals(b)) throw new BenchFailure(`${what}: ${name} differs from the pushed file`);
  }
}

export const ociBenchmark: Benchmark = {
  name: 'oci',
  plan: (_options: BenchOptions) => [`oci: push and pull of a 1 GiB bundle (${WEIGHT_FILES} x 256 MiB + ONNX) to docker-registry 2.8.2 on loopback, modelship vs oras v1.3.6`],
  async run(ctx: BenchContext): Promise<BenchResult> {
    if (!existsSync(ORAS)) throw new BenchFailure(`oras is not built (${ORAS}): run bash registry/install-oras.sh`);
    const bundle = await makeBundle(ctx);
    const modelDir = join(bundle, 'model');
    const files = (await readdir(modelDir)).sort();
    let bytes = 0;
    for (const f of files) bytes += (await stat(join(modelDir, f))).size;

    const scratch = await mkdtemp(join(ctx.workDir, 'oci-run-'));
    const dataDir = join(scratch, 'registry');
    const port = await freePort();
    execFileSync('bash', [join(PROJECT_ROOT, 'registry', 'start.sh'), '--port', String(port), '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'inherit'] });
    const registry = `127.0.0.1:${port}`;
    const env = (home: string) => ({ ...process.env, MODELSHIP_HOME: home, MODELSHIP_LOG_LEVEL: 'warn', DOCKER_CONFIG: scratch });
    type Case = 'ourPush' | 'orasPush' | 'ourPull' | 'orasPull' | 'ourWarmPull' | 'ourDirectPull';
    const times: Record<Case, number[]> = { ourPush: [], orasPush: [], ourPull: [], orasPull: [], ourWarmPull: [], ourDirectPull: [] };
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
    } finally {
      execFileSync('bash', [join(PROJECT_ROOT, 'registry', 'stop.sh'), '--data-dir', dataDir], { stdio: 'ignore' });
      if (!ctx.options.keep) await rm(bundle, { recursive: true, force: true });
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
    const rows = [
      row('oras push (v1.3.6)', times.orasPush, undefined, rss.orasPush),
      row('modelship push (ours)', times.ourPush, times.orasPush, rss.ourPush),
      row('oras pull (v1.3.6)', times.orasPull, undefined, rss.orasPull),
      row('modelship pull, cold cache (ours)', times.ourPull, times.orasPull, rss.ourPull),
      row('modelship pull --no-cache (ours)', times.ourDirectPull, times.orasPull, rss.ourDirectPull),
      row('modelship pull, warm cache (ours)', times.ourWarmPull, times.orasPull, rss.ourWarmPull),
    ];
    return {
      rows,
      notes: [
        `push: ours ${formatByteRate(bytes / median(times.ourPush))} vs oras ${formatByteRate(bytes / median(times.orasPush))}; ours also pushes model.yaml, model.jws and two DSSE referrers and updates the sha256-<hex> fallback index, and hashes while it uploads (oras reads every file twice: digest, then upload)`,
        `pull: ours verifies every digest while streaming into the blob cache, then links each bundle file to its cache file (a reflink where the file system has them, else a hard link to the read-only cache file), so a cold pull writes each byte once, like oras and --no-cache; a warm pull fetches no blob but re-hashes every cached blob before linking it (a corrupted one is fetched again)`,
        'both run as child processes on loopback; wall time from spawn to exit; `sync` (untimed) before each case; the registry is restarted with empty storage between runs; registry storage, cache and outputs share one disk',
      ],
    };
  },
};

