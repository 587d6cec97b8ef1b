// Encryption as users run it: a worker process and the CLI configured with a codec keys file
// (MODELSHIP_CODEC_KEYS_FILE), against a real dev server; `modelship codec-server` as a process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { PROJECT_ROOT } from '../src/paths.js';
import { startDevServer, type DevServer } from './helpers/dev-server.js';
import { processEnv, runCli, startCli } from './helpers/processes.js';
import { historyStrings } from './helpers/history.js';

/** The temporal CLI the dev server scripts use (temporal/install.sh prints its path). */
function temporalBin(): string {
  return execFileSync('bash', [join(PROJECT_ROOT, 'temporal', 'install.sh')], { encoding: 'utf8' }).trim();
}

function runProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') return reject(err);
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const KEY = randomBytes(32);
const KEY_ID = 'cli-2026-12';

describe('encrypted payloads with the CLI and worker processes', () => {
  let server: DevServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let plainEnv: NodeJS.ProcessEnv;
  let worker: ChildProcess;
  let workerLog = '';
  let keysFile: string;

  before(async () => {
    server = await startDevServer();
    dir = await mkdtemp(join(tmpdir(), 'modelship-codec-cli-'));
    await writeFile(join(dir, 'passphrase'), `cli passphrase ${randomBytes(4).toString('hex')}\n`);
    keysFile = join(dir, 'codec-keys.json');
    await writeFile(keysFile, JSON.stringify({ current: KEY_ID, keys: { [KEY_ID]: KEY.toString('base64') } }), { mode: 0o600 });
    plainEnv = processEnv(dir, server, `codec-cli-${randomBytes(4).toString('hex')}`, { MODELSHIP_LOG_LEVEL: 'info' });
    env = { ...plainEnv, MODELSHIP_CODEC_KEYS_FILE: keysFile };
    worker = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'src', 'worker.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    worker.stderr!.setEncoding('utf8').on('data', (d: string) => (workerLog += d));
  });

  after(async () => {
    if (worker.exitCode === null) worker.kill('SIGKILL');
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('release and status work with the keys; the server holds ciphertext; the worker logs key ids only', async () => {
    assert.equal((await runCli(['keys', 'generate'], env)).code, 0);
    const r = await runCli(['release', SAMPLE, '--name', 'sample-mlp', '--version', '3.0.0', '--no-canary'], env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const status = await runCli(['status', 'release-sample-mlp-3.0.0', '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as { stages: Array<{ stage: string; state: string }> };
    assert.deepEqual(parsed.stages.filter((s) => s.state === 'succeeded').map((s) => s.stage), ['export', 'hash', 'sign', 'attest', 'smoke']);

    const connection = await Connection.connect({ address: server.address });
    try {
      const history = await new Client({ connection }).workflow.getHandle('release-sample-mlp-3.0.0').fetchHistory();
      const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      assert.equal(Buffer.from(input?.metadata?.encoding ?? []).toString(), 'binary/encrypted');
      assert.equal(Buffer.from(input?.metadata?.['encryption-key-id'] ?? []).toString(), KEY_ID);
      assert.throws(() => defaultPayloadConverter.fromPayload(input!), /binary\/encrypted/);
    } finally {
      await connection.close();
    }
    const started = workerLog.split('\n').find((l) => l.includes('"worker started"'));
    assert.ok(started, workerLog);
    assert.deepEqual(JSON.parse(started).keyIds, [KEY_ID]);
    assert.equal(JSON.parse(started).payloadEncryption, true);
    for (const secret of [KEY.toString('base64'), KEY.toString('hex')]) assert.ok(!workerLog.includes(secret), 'no key bytes in logs');
  });

  it('status without the keys fails naming the key id', async () => {
    const r = await runCli(['status', 'release-sample-mlp-3.0.0', '--json'], plainEnv);
    assert.equal(r.code, 1);
    const { error } = JSON.parse(r.stdout) as { error: { type: string; message: string } };
    assert.equal(error.type, 'CodecKeysMissingError');
    assert.match(error.message, new RegExp(`codec key ${KEY_ID}`));
  });

  it('a broken keys file stops the worker at start, naming the key', async () => {
    const bad = join(dir, 'bad-keys.json');
    await writeFile(bad, JSON.stringify({ keys: { short: randomBytes(8).toString('base64') } }));
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'src', 'worker.js')], { env: { ...plainEnv, MODELSHIP_CODEC_KEYS_FILE: bad }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 1);
    assert.match(stderr, /key short is not 32 bytes/);
  });

  it('modelship codec-server serves decode with the token, 401 without, and stops on SIGTERM', async () => {
    const tokenFile = join(dir, 'codec-token');
    const token = randomBytes(24).toString('hex');
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    const cli = startCli(['codec-server', '--port', '0', '--keys', keysFile, '--token-file', tokenFile, '--ui-origin', 'http://localhost:8233'], plainEnv);
    try {
      let url = '';
      for (let i = 0; i < 300 && !url; i++) {
        url = /codec server at (http:\/\/\S+)/.exec(cli.output())?.[1] ?? '';
        if (!url) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(url, cli.output());
      const encoded = await fetch(`${url}/encode`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: JSON.stringify({ payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"hello"').toString('base64') }] }) });
      assert.equal(encoded.status, 200);
      const body = await encoded.text();
      assert.equal((await fetch(`${url}/decode`, { method: 'POST', body })).status, 401);
      const decoded = (await (await fetch(`${url}/decode`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body })).json()) as { payloads: Array<{ data: string }> };
      assert.equal(Buffer.from(decoded.payloads[0]!.data, 'base64').toString(), '"hello"');
      // The temporal CLI decodes the release's history through it (the same protocol as the Web UI).
      const show = (extra: string[]) => runProcess(temporalBin(), ['workflow', 'show', '-w', 'release-sample-mlp-3.0.0', '--output', 'json', ...extra], plainEnv);
      const throughCodec = await show(['--codec-endpoint', url, '--codec-auth', `Bearer ${token}`]);
      assert.equal(throughCodec.code, 0, throughCodec.stderr);
      // Payload data is base64 in the JSON output: historyStrings decodes it.
      assert.ok(historyStrings(JSON.parse(throughCodec.stdout)).join('\n').includes('sample-mlp.onnx'), 'decoded history shows the request');
      const raw = await show([]);
      assert.equal(raw.code, 0, raw.stderr);
      assert.ok(!historyStrings(JSON.parse(raw.stdout)).join('\n').includes('sample-mlp.onnx'), 'without the codec: ciphertext only');
      cli.child.kill('SIGTERM');
      const done = await cli.done;
      assert.equal(done.code, 0, done.stderr);
      assert.ok(!done.stderr.includes(token), 'the token is not logged');
    } finally {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    }
  });
});
