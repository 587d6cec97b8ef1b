// Admin keys by key id, and `modelship serving rotate-admin-key` as operators run it: a real
// serving runtime reading a keys folder, the CLI as a separate process, and the worker's canary
// activities signing with the clients' key file while it is rotated under them.
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { setCanaryWeight, analyzeCanary } from '../src/activities/canary.js';
import type { ActivityDeps } from '../src/activities/deps.js';
import { ServingAdminClient, type AdminCredentials } from '../src/serving-client/admin-client.js';
import { readAdminKey, writeAdminKey, newAdminKey } from '../src/serving-client/admin-key-file.js';
import { ServingRejectedError } from '../src/errors/index.js';
import { startServingRuntime, type ServingRuntime } from '../src/serving/serve.js';
import { makeSignedBundle, type SignedBundle } from './helpers/bundle-fixture.js';
import { makeKeys, TempDirs } from './helpers/fixtures.js';
import { runCli } from './helpers/processes.js';
import { adminRequest } from './helpers/serving-fixture.js';

const temp = new TempDirs();
const logLines: string[] = [];
let base: string;
let keysDir: string;
let keyFile: string;
let runtime: ServingRuntime;
let url: string;
let v1: SignedBundle;
let v2: SignedBundle;
const first = newAdminKey('k1');
const cliOutput: string[] = [];

before(async () => {
  base = await temp.make('modelship-admin-rotation-');
  const keys = await makeKeys(join(base, 'trusted'), 'release');
  v1 = await makeSignedBundle(join(base, 'v1'), keys.signingKey, { name: 'mlp', version: '1.0.0' });
  v2 = await makeSignedBundle(join(base, 'v2'), keys.signingKey, { name: 'mlp', version: '2.0.0' });
  keysDir = join(base, 'admin-keys');
  await mkdir(keysDir);
  await writeAdminKey(join(keysDir, 'k1.key'), first);
  keyFile = join(base, 'client', 'admin.key');
  await mkdir(join(base, 'client'));
  await writeAdminKey(keyFile, first);
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  runtime = await startServingRuntime({ host: '127.0.0.1', port: 0, stateDir: join(base, 'state'), trustedKeysDir: join(base, 'trusted'), adminKeysDir: keysDir, logger });
  url = runtime.url;
  await new ServingAdminClient({ baseUrl: url, secret: () => readAdminKey(keyFile) }).deploy('mlp', 'stable', v1.bundleDir);
});

after(async () => {
  await runtime?.close();
  await temp.cleanup();
});

async function cli(...args: string[]) {
  const result = await runCli(['serving', ...args, '--keys-dir', keysDir, '--key-file', keyFile], { ...process.env, MODELSHIP_SERVING_URL: url, MODELSHIP_LOG_LEVEL: 'warn' });
  cliOutput.push(result.stdout, result.stderr);
  return result;
}

const keyed = (key: AdminCredentials) => new ServingAdminClient({ baseUrl: url, secret: () => Promise.resolve(key) });
const refused = (err: unknown, pattern: RegExp) => err instanceof ServingRejectedError && err.status === 401 && pattern.test(err.message);

describe('admin keys by key id', () => {
  test('during a rotation both keys work (keyed and unkeyed signatures); the retired one is refused afterwards', async () => {
    const rotated = await cli('rotate-admin-key', '--kid', 'k2', '--keep-old', '--json');
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.deepEqual(JSON.parse(rotated.stdout), { introduced: 'k2', keyFile, retired: [], kept: ['k1'] });
    const second = await readAdminKey(keyFile);
    assert.equal(second.kid, 'k2', 'the clients\' key file now holds the new key');
    assert.notEqual(second.secret, first.secret);

    // Both valid: by key id, and (clients that predate key ids) unkeyed against every valid key.
    await keyed(first).list();
    await keyed(second).list();
    for (const key of [first, second]) {
      const unkeyed = await adminRequest(url, key.secret, { method: 'GET', path: '/admin/v1/models' });
      assert.equal(unkeyed.status, 200, JSON.stringify(unkeyed.json));
    }
    await assert.rejects(keyed({ kid: 'k2', secret: first.secret }).list(), (err) => refused(err, /bad signature/), 'a key id with another key\'s secret');

    const locked = await cli('retire-admin-key', 'k2');
    assert.equal(locked.code, 2, 'retiring the key the clients hold is refused');
    assert.match(locked.stderr, /still holds k2: retiring it would lock the clients out/);
    const retired = await cli('retire-admin-key', 'k1');
    assert.equal(retired.code, 0, retired.stderr);

    await assert.rejects(keyed(first).list(), (err) => refused(err, /unknown or retired admin key id "k1"/));
    const unkeyedOld = await adminRequest(url, first.secret, { method: 'GET', path: '/admin/v1/models' });
    assert.equal(unkeyedOld.status, 401);
    assert.equal(unkeyedOld.json.error, 'bad signature');
    await keyed(second).list();
  });

  test('a rotation under a running canary (deploys, weights, analysis) fails no call', async () => {
    const deps = { serving: { url, secret: () => readAdminKey(keyFile) } } as unknown as ActivityDeps;
    const env = new MockActivityEnvironment();
    const before = await readAdminKey(keyFile);
    let stop = false;
    let calls = 0;
    const failures: string[] = [];
    const admin = new ServingAdminClient({ baseUrl: url, secret: () => readAdminKey(keyFile) });
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          // The deploy activity takes store references only; a bundle folder is deployed through the admin client it wraps.
          await admin.deploy('mlp', 'canary', i % 2 ? v1.bundleDir : v2.bundleDir);
          await env.run(setCanaryWeight, deps, { model: 'mlp', weight: i % 2 ? 0 : 10 });
          await env.run(analyzeCanary, deps, { model: 'mlp', sinceMs: Date.now() - 1000, policy: {} });
          calls += 3;
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    })();
    const rotated = await cli('rotate-admin-key', '--kid', 'k3', '--grace-seconds', '1', '--json');
    const again = await cli('rotate-admin-key', '--kid', 'k4', '--grace-seconds', '0', '--json');
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await loop;
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.deepEqual(JSON.parse(rotated.stdout), { introduced: 'k3', keyFile, retired: [before.kid], kept: [] });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout).retired, ['k3']);
    assert.deepEqual(failures, [], 'no activity call failed during the rotations');
    assert.ok(calls >= 6, `only ${calls} calls ran`);
    const kidsUsed = new Set(logLines.map((l) => JSON.parse(l) as { msg: string; kid?: string }).filter((l) => l.msg === 'admin request accepted').map((l) => l.kid));
    for (const kid of [before.kid, 'k3', 'k4']) assert.ok(kidsUsed.has(kid), `no call was signed with ${kid}`);
    await assert.rejects(keyed(before).list(), (err) => refused(err, /unknown or retired/));
  });

  test('a client that signed with the old key just before it was retired retries once with the new one', async () => {
    const current = await readAdminKey(keyFile);
    let reads = 0;
    const stale: AdminCredentials = { kid: 'k1', secret: first.secret };
    const client = new ServingAdminClient({ baseUrl: url, secret: async () => (reads++ === 0 ? stale : current) });
    const status = await client.status('mlp');
    assert.equal(status.name, 'mlp');
    assert.equal(reads, 2);
    const fixed = new ServingAdminClient({ baseUrl: url, secret: first.secret });
    await assert.rejects(fixed.status('mlp'), (err) => refused(err, /bad signature/), 'a fixed secret is not retried');
  });

  test('no secret appears in the server logs or the CLI output; key files are private to their owner', async () => {
    const secrets = [first.secret, (await readAdminKey(keyFile)).secret];
    const everything = logLines.join('') + cliOutput.join('');
    for (const secret of secrets) assert.ok(!everything.includes(secret), 'a secret leaked into logs or output');
    const { mode } = await import('node:fs').then((fs) => fs.statSync(keyFile));
    assert.equal(mode & 0o077, 0, 'the key file is readable by others');
    assert.ok((await readFile(keyFile, 'utf8')).startsWith('{"kid":"k4"'));
  });
});
