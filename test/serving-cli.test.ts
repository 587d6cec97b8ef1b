// `modelship serve`, `load` and `rollback` as users run them: separate processes on loopback.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../src/paths.js';
import { ServingAdminClient } from '../src/serving-client/admin-client.js';
import { makeSignedBundle, type SignedBundle } from './helpers/bundle-fixture.js';
import { makeKeys } from './helpers/fixtures.js';

const BIN = join(PROJECT_ROOT, 'bin', 'modelship.js');

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe('modelship serve, load and rollback (processes)', () => {
  let dir: string;
  let serve: ChildProcess;
  let url: string;
  let env: NodeJS.ProcessEnv;
  let v1: SignedBundle;
  let v2: SignedBundle;
  const secret = randomBytes(24).toString('hex');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelship-serve-cli-'));
    const keys = await makeKeys(join(dir, 'keys'));
    v1 = await makeSignedBundle(join(dir, 'v1'), keys.signingKey, { version: '1.0.0' });
    v2 = await makeSignedBundle(join(dir, 'v2'), keys.signingKey, { version: '2.0.0' });
    await writeFile(join(dir, 'admin.key'), secret);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    env = { PATH: process.env.PATH, HOME: dir, MODELSHIP_LOG_FORMAT: 'json', MODELSHIP_SERVING_ADMIN_KEY: secret };
    serve = spawn(
      process.execPath,
      [BIN, 'serve', '--port', String(port), '--state-dir', join(dir, 'state'), '--trusted-keys-dir', join(dir, 'keys'), '--admin-key-file', join(dir, 'admin.key')],
      { env, stdio: 'ignore' },
    );
    for (let i = 0; i < 100; i++) {
      if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
      await sleep(100);
    }
    const admin = new ServingAdminClient({ baseUrl: url, secret });
    await admin.deploy('sample-mlp', 'stable', v1.bundleDir);
    await admin.deploy('sample-mlp', 'stable', v2.bundleDir); // v1 becomes previousStable
  });

  after(async () => {
    if (serve.exitCode === null) serve.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('load sends seeded traffic for a bounded time and reports it', async () => {
    const r = await run(['load', 'sample-mlp', '--bundle', v2.bundleDir, '--rate', '40', '--duration', '2', '--url', url, '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { sent: number; ok: number; errors: number; bySlot: Record<string, number> };
    assert.ok(summary.sent >= 60 && summary.sent <= 81, `sent ${summary.sent}`);
    assert.equal(summary.errors, 0);
    assert.equal(summary.bySlot.stable, summary.ok);
  });

  it('rollback restores the previous stable; a wrong key is refused and changes nothing', async () => {
    const refused = await run(['rollback', 'sample-mlp', '--url', url], { ...env, MODELSHIP_SERVING_ADMIN_KEY: 'not the admin key at all' });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /401/);
    const r = await run(['rollback', 'sample-mlp', '--url', url], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stable +1\.0\.0/);
  });

  it('serve stops cleanly on SIGTERM', async () => {
    serve.kill('SIGTERM');
    const [code] = (await once(serve, 'exit')) as [number | null];
    assert.equal(code, 0);
  });
});
