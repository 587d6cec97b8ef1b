// Records ReleaseWorkflow histories for the replay test: `npm run record-histories`.
// Re-record only on purpose: the committed histories stand for workflows already running in
// production, and a change that cannot replay them must go behind patched(). Histories of
// earlier workflow versions stay (e.g. v0.1-before-smoke-*): they prove the patches hold.
import { writeFile, readFile, mkdir, mkdtemp, copyFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { startServingRuntime } from '../src/serving/serve.js';
import { abortUpdate, approveUpdate, releaseStatusQuery } from '../src/workflows/definitions.js';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { generateKeyFiles } from '../src/crypto/keys.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { startReleaseEnv } from './helpers/release-env.js';

const OUT = join(PROJECT_ROOT, 'test', 'histories');
const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const CNN = join(PROJECT_ROOT, 'models', 'cnn', 'small-cnn.onnx');

const secret = randomBytes(24).toString('hex');
const servingDir = await mkdtemp(join(tmpdir(), 'modelship-record-'));
await mkdir(join(servingDir, 'trusted'));
const serving = await startServingRuntime({ host: '127.0.0.1', port: 0, stateDir: join(servingDir, 'state'), trustedKeysDir: join(servingDir, 'trusted'), adminSecret: secret });
const env = await startReleaseEnv({ serving: { url: serving.url, secret } });
await copyFile(env.key.publicKeyPath, join(servingDir, 'trusted', basename(env.key.publicKeyPath)));

async function save(name: string, handle: WorkflowHandle): Promise<void> {
  await handle.result().catch(() => undefined);
  await writeFile(join(OUT, `${name}.json`), JSON.stringify(JSON.parse(historyToJSON(await handle.fetchHistory())), null, 1) + '\n');
  process.stdout.write(`recorded ${name}\n`);
}

async function untilPhase(handle: WorkflowHandle, phase: string): Promise<void> {
  for (let i = 0; i < 300 && (await handle.query(releaseStatusQuery)).canary?.phase !== phase; i++) await sleep(100);
}

try {
  await mkdir(OUT, { recursive: true });
  const corrupt = join(env.dir, 'corrupt.onnx');
  await writeFile(corrupt, (await readFile(SAMPLE)).subarray(0, 800));
  const otherKey = await generateKeyFiles(join(env.dir, 'other'), 'other', 'not the worker passphrase');
  const cases = {
    'release-succeeded': env.request({ version: '1.0.0', source: { kind: 'onnx', path: SAMPLE } }),
    'release-failed-corrupt-model': env.request({ version: '1.0.1', source: { kind: 'onnx', path: corrupt } }),
    'release-failed-wrong-passphrase': env.request({ version: '1.0.2', source: { kind: 'onnx', path: SAMPLE }, signingKeyPath: otherKey.privateKeyPath }),
    'release-failed-smoke-tolerance': env.request({ version: '1.0.3', source: { kind: 'onnx', path: CNN }, smoke: { tolerance: { absolute: 0, relative: 0 } } }),
  };
  for (const [name, request] of Object.entries(cases)) await save(name, await env.start(request));

  // The canary paths that need no traffic: first version, pause + approve, abort during a bake.
  const canary = (version: string, plan: object) => env.request({ name: 'canary-model', version, source: { kind: 'onnx', path: SAMPLE }, canary: plan });
  await save('release-canary-first-version', await env.start(canary('2.0.0', {})));
  const approved = await env.start(canary('2.0.1', { steps: [{ setWeight: 10 }, { pause: { timeoutSeconds: 60 } }] }));
  await untilPhase(approved, 'paused');
  await approved.executeUpdate(approveUpdate);
  await save('release-canary-approved', approved);
  const aborted = await env.start(canary('2.0.2', { steps: [{ setWeight: 10 }, { bakeSeconds: 600 }] }));
  await untilPhase(aborted, 'baking');
  await aborted.executeUpdate(abortUpdate, { args: [{ reason: 'recorded abort' }] });
  await save('release-canary-aborted', aborted);
} finally {
  await env.stop();
  await serving.close();
  await rm(servingDir, { recursive: true, force: true });
}
