// Records ReleaseWorkflow and BatchRolloutWorkflow histories for the replay test:
// `npm run record-histories` (all), `npm run record-histories -- batch` (only those whose name starts so).
// Re-record only on purpose: the committed histories stand for workflows already running in
// production. A change that cannot replay them ships as a new Worker Deployment version (or,
// for unversioned fleets, behind patched()). Histories of the previous workflow version stay
// (v0.5-before-retired-patches-*): they prove its releases still replay here.
import { writeFile, readFile, mkdir, mkdtemp, copyFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { BATCH_WORKFLOW_TYPE, batchStatusQuery } from '../src/workflow-definitions.js';
import { batchStartOptions } from '../src/batch/start-metadata.js';
import { parseRollout } from '../src/batch/rollout-file.js';
import { releaseIdFor } from '../src/release/ids.js';
import { startServingRuntime } from '../src/serving/serve.js';
import { abortUpdate, approveUpdate, releaseStatusQuery } from '../src/workflow-definitions.js';
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

const only = process.argv[2];
const want = (name: string) => !only || name.startsWith(only);

async function save(name: string, handle: WorkflowHandle): Promise<void> {
  await handle.result().catch(() => undefined);
  await writeFile(join(OUT, `${name}.json`), JSON.stringify(JSON.parse(historyToJSON(await handle.fetchHistory())), null, 1) + '\n');
  process.stdout.write(`recorded ${name}\n`);
}

/** A batch of `models` (canary: false unless given), from a rollout parsed as the CLI parses files. */
function startBatch(batchId: string, settings: Record<string, unknown>, models: Array<Record<string, unknown>>): Promise<WorkflowHandleWithFirstExecutionRunId> {
  const rollout = parseRollout(JSON.stringify({ signingKeyPath: env.key.privateKeyPath, defaults: { canary: false }, ...settings, models }), { file: join(env.dir, `${batchId}.yaml`) });
  return env.client.workflow.start(BATCH_WORKFLOW_TYPE, { taskQueue: env.taskQueue, ...batchStartOptions(rollout, batchId) });
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300 && !(await check().catch(() => false)); i++) await sleep(100);
}

async function untilPhase(handle: WorkflowHandle, phase: string): Promise<void> {
  for (let i = 0; i < 300 && (await handle.query(releaseStatusQuery)).canary?.phase !== phase; i++) await sleep(100);
}

try {
  await mkdir(OUT, { recursive: true });
  const corrupt = join(env.dir, 'corrupt.onnx');
  await writeFile(corrupt, (await readFile(SAMPLE)).subarray(0, 800));
  if (want('release')) await recordReleases(corrupt);
  if (want('batch')) await recordBatches(corrupt);
} finally {
  await env.stop();
  await serving.close();
  await rm(servingDir, { recursive: true, force: true });
}

async function recordReleases(corrupt: string): Promise<void> {
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
}

async function recordBatches(corrupt: string): Promise<void> {
  const model = (name: string, version: string, extra: Record<string, unknown> = {}) => ({ name, version, path: SAMPLE, ...extra });
  // A stable first version, so the halted batch's canary has something to compare with.
  await env.release(env.request({ name: 'batch-canary', version: '1.0.0', source: { kind: 'onnx', path: SAMPLE }, canary: {} }));

  // The halt: a failure in wave 1 aborts the running canary (rolled back) and skips wave 2.
  await save(
    'batch-rollout-halted',
    await startBatch('recorded-halt', { waveSize: 2, halt: { maxFailures: 0, onHalt: 'abort' } }, [
      model('batch-canary', '1.1.0', { canary: { steps: [{ setWeight: 10 }, { bakeSeconds: 600 }] } }),
      { name: 'batch-corrupt', version: '1.0.0', path: corrupt },
      model('batch-c', '1.0.0'),
    ]),
  );

  // Waves of one, a pause between them, continue-as-new after every wave: three runs.
  const chain = [model('batch-a', '1.0.0'), model('batch-b', '1.0.0'), model('batch-d', '1.0.0')];
  const chained = await startBatch('recorded-chain', { waveSize: 1, pauseBetweenWavesSeconds: 1, continueAsNewEveryWaves: 1 }, chain);
  await chained.result();
  await save('batch-rollout-continued-as-new-first-run', env.client.workflow.getHandle(chained.workflowId, chained.firstExecutionRunId));
  await save('batch-rollout-continued-as-new-last-run', env.client.workflow.getHandle(chained.workflowId));

  // The same rollout again: every version exists already and is skipped.
  await save('batch-rollout-rerun-skipped', await startBatch('recorded-rerun', { waveSize: 1, pauseBetweenWavesSeconds: 1, continueAsNewEveryWaves: 1 }, chain));

  // A release still running from another batch is waited for.
  const paused = [model('batch-canary', '1.2.0', { canary: { steps: [{ setWeight: 10 }, { pause: { timeoutSeconds: 120 } }] } })];
  const owner = await startBatch('recorded-owner', {}, paused);
  const release = env.client.workflow.getHandle(releaseIdFor('batch-canary', '1.2.0'));
  await until(async () => (await release.query(releaseStatusQuery)).canary?.phase === 'paused');
  const adopter = await startBatch('recorded-adopter', {}, paused);
  await until(async () => (await adopter.query(batchStatusQuery)).entries[0]?.existing === true);
  await release.executeUpdate(approveUpdate);
  await owner.result();
  await save('batch-rollout-adopted-running', adopter);
}
