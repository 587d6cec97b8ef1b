// A release of a model whose external data names a file of the worker (package.json in its working
// directory) fails at export, through the CLI and a worker process against a real dev server,
// with ExternalDataRefused naming the tensor and the path.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PROJECT_ROOT } from '../src/paths.js';
import { startDevServer, type DevServer } from './helpers/dev-server.js';
import { processEnv, runCli } from './helpers/processes.js';

describe('release of a model reading outside its bundle', () => {
  let server: DevServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let worker: ChildProcess;
  let workerLog = '';

  before(async () => {
    server = await startDevServer();
    dir = await mkdtemp(join(tmpdir(), 'modelship-extdata-cli-'));
    execFileSync(join(PROJECT_ROOT, '.venv', 'bin', 'python'), [join(PROJECT_ROOT, 'test', 'fixtures', 'make_external_data_models.py'), join(dir, 'models')]);
    await writeFile(join(dir, 'passphrase'), `cli passphrase ${randomBytes(4).toString('hex')}\n`);
    // The worker runs in a folder holding a secret named like the file the model asks for.
    const cwd = join(dir, 'worker-cwd');
    await mkdir(cwd);
    await writeFile(join(cwd, 'package.json'), JSON.stringify({ adminKey: randomBytes(16).toString('hex') }));
    env = processEnv(dir, server, `extdata-${randomBytes(4).toString('hex')}`, { MODELSHIP_LOG_LEVEL: 'info' });
    worker = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'src', 'worker.js')], { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    worker.stderr!.setEncoding('utf8').on('data', (d: string) => (workerLog += d));
    assert.equal((await runCli(['keys', 'generate'], env)).code, 0);
  });

  after(async () => {
    if (worker?.exitCode === null) worker.kill('SIGKILL');
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('fails at export with ExternalDataRefused naming the initializer and package.json', async () => {
    const r = await runCli(['release', join(dir, 'models', 'pkg'), '--name', 'reads-package-json', '--version', '1.0.0'], env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /FAIL export +ExternalDataRefused: model\.onnx: initializer "w" \(main graph\) keeps its data in "package\.json", which is not a file of the bundle/);
    assert.match(r.stderr, /failed at export: model\.onnx: initializer "w"/);
  });

  it('the same from inside an If branch, and with ../ or an absolute path', async () => {
    for (const [folder, pattern] of [
      ['sub-pkg', /FAIL export +ExternalDataRefused: model\.onnx: initializer "then_w" \(main graph > node choose \(If\)\.then_branch\) keeps its data in "package\.json"/],
      ['dotdot', /FAIL export +ExternalDataRefused: .*"w" \(main graph\) keeps its data in "\.\.\/x", which leaves the model folder/],
      ['abs', /FAIL export +ExternalDataRefused: .*"w" \(main graph\) keeps its data in "\/etc\/passwd", which is an absolute path/],
    ] as const) {
      const r = await runCli(['release', join(dir, 'models', folder), '--name', `hostile-${folder}`, '--version', '1.0.0'], env);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, pattern);
    }
  });

  it('a model split into model.onnx + model.onnx.data (how large models ship) releases end to end, smoke included', async () => {
    const r = await runCli(['release', join(dir, 'models', 'split'), '--name', 'split-model', '--version', '1.0.0', '--no-canary'], env);
    assert.equal(r.code, 0, r.stdout + r.stderr + workerLog.slice(-2000));
    assert.match(r.stdout, /ok +hash /);
    // Both engines read the weights from the bundle: the sandbox is handed them as bytes.
    assert.match(r.stdout, /smoke +PASSED, max abs diff \d\.\d\de[-+]\d+ vs onnxruntime-node/);
  });
});
