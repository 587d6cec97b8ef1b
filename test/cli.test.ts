// The CLI and the worker as users run them: separate processes, configured by environment
// (TEMPORAL_ADDRESS etc.), against a real dev server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PROJECT_ROOT } from '../src/paths.js';
import { startDevServer, type DevServer } from './helpers/dev-server.js';
import { processEnv, runCli } from './helpers/processes.js';
import { defaultMaxConcurrentActivities } from '../src/release-worker.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');

const run = runCli;

describe('modelship CLI and worker processes', () => {
  let server: DevServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let worker: ChildProcess;
  let workerLog = '';

  before(async () => {
    server = await startDevServer();
    dir = await mkdtemp(join(tmpdir(), 'modelship-cli-'));
    await writeFile(join(dir, 'passphrase'), `cli passphrase ${randomBytes(4).toString('hex')}\n`);
    env = processEnv(dir, server, `cli-${randomBytes(4).toString('hex')}`, { MODELSHIP_LOG_LEVEL: 'info' });
    worker = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'src', 'worker.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    worker.stderr!.setEncoding('utf8').on('data', (d: string) => (workerLog += d));
  });

  after(async () => {
    if (worker.exitCode === null) worker.kill('SIGKILL');
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  let kid = '';
  let bundle = '';

  it('keys generate writes an encrypted key pair and prints the kid', async () => {
    const r = await run(['keys', 'generate'], env);
    assert.equal(r.code, 0, r.stderr);
    kid = /^kid (\S+)$/m.exec(r.stdout)?.[1] ?? '';
    assert.match(kid, /^[A-Za-z0-9_-]{43}$/);
    assert.match(await readFile(join(dir, 'keys', 'release.key.pem'), 'utf8'), /BEGIN ENCRYPTED PRIVATE KEY/);
  });

  it('release follows every stage and prints the bundle and the Web UI link', async () => {
    const r = await run(['release', SAMPLE, '--name', 'sample-mlp', '--version', '2.0.0'], env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    for (const stage of ['export', 'hash', 'sign', 'attest']) assert.match(r.stdout, new RegExp(`ok +${stage} `));
    // The bundle is in the store (the single-machine default: an OCI layout folder), by digest.
    const reference = /bundle +(\S+)/.exec(r.stdout)?.[1] ?? '';
    assert.match(reference, new RegExp(`^oci-layout:${join(dir, 'oci')}/sample-mlp:2\\.0\\.0@sha256:[0-9a-f]{64}$`));
    bundle = join(dir, 'pulled-2.0.0');
    const pulled = await run(['pull', reference, bundle], env);
    assert.equal(pulled.code, 0, pulled.stderr + pulled.stdout);
    assert.match(r.stdout, new RegExp(`signed by +kid ${kid}`));
    assert.match(r.stdout, /Web UI +http:\/\/localhost:8233\/namespaces\/default\/workflows\/release-sample-mlp-2\.0\.0\/[0-9a-f-]+\/history/);
  });

  it('a second release of the same version is refused, the first untouched', async () => {
    const r = await run(['release', SAMPLE, '--name', 'sample-mlp', '--version', '2.0.0'], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /sample-mlp@2\.0\.0 already has a running or completed release/);
  });

  it('status shows the stages of a release', async () => {
    const r = await run(['status', 'release-sample-mlp-2.0.0'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(COMPLETED\)/);
    assert.match(r.stdout, /stage +released/);
    assert.match(r.stdout, /STAGE +STATE +STARTED +TOOK +KEY FIGURES/);
    assert.match(r.stdout, /attest +succeeded +\d\d:\d\d:\d\d +\d+\.\ds +predicateType=/);
    const json = JSON.parse((await run(['status', 'release-sample-mlp-2.0.0', '--json'], env)).stdout) as { attributes: { ReleaseStage: string } };
    assert.equal(json.attributes.ReleaseStage, 'released');
  });

  it('verify passes on the bundle and names the check that fails after tampering', async () => {
    const pub = join(dir, 'keys', 'release.pub.pem');
    const ok = await run(['verify', bundle, '--key', pub], env);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /verified: every check passed/);

    const model = join(bundle, 'model', 'sample-mlp.onnx');
    const original = await readFile(model);
    const tampered = Buffer.from(original);
    tampered[100] = tampered[100]! ^ 0x01;
    await writeFile(model, tampered);
    const bad = await run(['verify', bundle, '--key', pub], env);
    await writeFile(model, original);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /FAIL files +model\/sample-mlp\.onnx: sha256 [0-9a-f]{64}, model\.yaml says [0-9a-f]{64}/);
    assert.match(bad.stderr, /verification FAILED: files/);
  });

  it('a corrupt model exits non-zero saying which stage failed and why', async () => {
    const corrupt = join(dir, 'corrupt.onnx');
    await writeFile(corrupt, 'this is not protobuf');
    const r = await run(['release', corrupt, '--name', 'sample-mlp', '--version', '2.0.1'], env);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL export +CorruptModelError: corrupt\.onnx/);
    assert.match(r.stderr, /failed at export: corrupt\.onnx is not a valid ONNX model/);
  });

  it('rejects a bad version before starting anything', async () => {
    const r = await run(['release', SAMPLE, '--name', 'sample-mlp', '--version', '../etc'], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid model version/);
  });

  it('the worker logs JSON through pino and stops cleanly on SIGTERM', async () => {
    const line = workerLog.split('\n').find((l) => l.includes('"worker started"'));
    assert.ok(line, `no start line in worker log:\n${workerLog.slice(0, 2000)}`);
    const started = JSON.parse(line) as { taskQueue: string; maxConcurrentActivities: number };
    assert.equal(started.taskQueue, env.MODELSHIP_TASK_QUEUE);
    // Bounded by the host's cores, not the SDK's 100: the stages are CPU-bound.
    assert.equal(started.maxConcurrentActivities, defaultMaxConcurrentActivities());
    assert.ok(defaultMaxConcurrentActivities(2) === 4 && defaultMaxConcurrentActivities(16) === 32);
    worker.kill('SIGTERM');
    const [code] = (await once(worker, 'exit')) as [number | null];
    assert.equal(code, 0, workerLog.slice(-2000));
    assert.match(workerLog, /"worker stopped"/);
  });
});
