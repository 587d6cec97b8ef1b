// Durability of the canary: a worker process killed mid-bake and a serving runtime restarted
// mid-canary. The release must finish, with exactly one deployment of the canary.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { startServingRuntime, type ServingRuntime } from '../src/serving/serve.js';
import { ServingAdminClient } from '../src/serving-client/admin-client.js';
import { generateKeyFiles, type GeneratedKeyFiles } from '../src/crypto/keys.js';
import { generateLoad } from '../src/load/load-generator.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { releaseIdFor } from '../src/release/ids.js';
import { RELEASE_WORKFLOW_TYPE, releaseStatusQuery } from '../src/workflow-definitions.js';
import type { ReleaseRequest, ReleaseResult } from '../src/release/types.js';
import { startDevServer, type DevServer } from './helpers/dev-server.js';
import { processEnv, spawnWorker } from './helpers/processes.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const SIGNATURE = [{ name: 'features', type: 'float32', shape: ['batch', 4] }] as const;

describe('canary recovery', () => {
  let server: DevServer;
  let dir: string;
  let key: GeneratedKeyFiles;
  let client: Client;
  let connection: Connection;
  let serving: ServingRuntime;
  let servingPort = 0;
  const deployLog: string[] = [];
  const secret = randomBytes(24).toString('hex');
  const passphrase = `recovery ${randomBytes(4).toString('hex')}`;
  const taskQueue = `recovery-${randomBytes(4).toString('hex')}`;
  const model = 'recovered';
  const workers = new Set<ChildProcess>();

  /** The serving runtime, logging to a stream the test reads (every "deployed" line is counted). */
  async function startServing(): Promise<void> {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          const entry = JSON.parse(line) as { msg: string; slot?: string; version?: string };
          if (entry.msg === 'deployed') deployLog.push(`${entry.slot}:${entry.version}`);
        }
        done();
      },
    });
    serving = await startServingRuntime({
      host: '127.0.0.1',
      port: servingPort,
      stateDir: join(dir, 'serving'),
      trustedKeysDir: join(dir, 'keys'),
      adminSecret: secret,
      logger: pino({ level: 'info' }, sink),
    });
    servingPort = Number(new URL(serving.url).port);
  }

  function startWorker(): ChildProcess {
    const worker = spawnWorker(processEnv(dir, server, taskQueue, { MODELSHIP_SERVING_URL: serving.url, MODELSHIP_SERVING_ADMIN_KEY: secret }));
    workers.add(worker);
    worker.once('exit', () => workers.delete(worker));
    return worker;
  }

  async function start(version: string, bakeSeconds: number): Promise<WorkflowHandle> {
    const request: ReleaseRequest = {
      name: model,
      version,
      source: { kind: 'onnx', path: SAMPLE },
      signingKeyPath: key.privateKeyPath,
      canary: { model, steps: [{ setWeight: 30 }, { bakeSeconds }], policy: { minSamplesPerSlot: 30, minShadowComparisons: 20 }, maxExtensions: 5 },
    };
    return client.workflow.start(RELEASE_WORKFLOW_TYPE, { taskQueue, workflowId: releaseIdFor(model, version), args: [request] });
  }

  async function waitForPhase(handle: WorkflowHandle, phase: string): Promise<void> {
    for (let i = 0; i < 600; i++) {
      if ((await handle.query(releaseStatusQuery).catch(() => undefined))?.canary?.phase === phase) return;
      await sleep(100);
    }
    assert.fail(`the canary never reached ${phase}`);
  }

  async function underLoad<T>(work: Promise<T>): Promise<T> {
    const stop = new AbortController();
    const load = generateLoad({ baseUrl: `http://127.0.0.1:${servingPort}`, model, inputs: SIGNATURE, ratePerSecond: 100, durationSeconds: 300, signal: stop.signal });
    try {
      return await work;
    } finally {
      stop.abort();
      await load;
    }
  }

  before(async () => {
    server = await startDevServer();
    dir = await mkdtemp(join(tmpdir(), 'modelship-recovery-'));
    await mkdir(join(dir, 'keys'));
    await writeFile(join(dir, 'passphrase'), passphrase);
    key = await generateKeyFiles(join(dir, 'keys'), 'release', passphrase);
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection, namespace: server.namespace });
    await startServing();
    startWorker();
    // v1 goes straight to stable, so the next releases are real canaries.
    const v1 = await start('1.0.0', 1);
    assert.equal(((await v1.result()) as ReleaseResult).canary?.firstVersion, true);
  });

  after(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await serving?.close();
    await connection?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a worker killed during the bake: a new worker resumes the release, with one deployment', async () => {
    const handle = await start('2.0.0', 4);
    await waitForPhase(handle, 'baking');
    const [victim] = workers;
    victim!.kill('SIGKILL');
    await once(victim!, 'exit');
    startWorker();
    const result = (await underLoad(handle.result())) as ReleaseResult;
    assert.equal(result.canary?.outcome, 'promoted');
    assert.deepEqual(deployLog.filter((d) => d.endsWith(':2.0.0')), ['canary:2.0.0'], 'the canary was deployed exactly once');
    const admin = new ServingAdminClient({ baseUrl: serving.url, secret });
    assert.equal((await admin.status(model)).slots.stable?.version, '2.0.0');
  });

  it('a serving runtime restarted mid-canary comes back with its slots, and the release finishes', async () => {
    const handle = await start('3.0.0', 4);
    await waitForPhase(handle, 'baking');
    await serving.close();
    await startServing(); // same port, same state folder
    const admin = new ServingAdminClient({ baseUrl: serving.url, secret });
    const status = await admin.status(model);
    assert.equal(status.slots.stable?.version, '2.0.0');
    assert.equal(status.slots.canary?.version, '3.0.0');
    assert.equal(status.canaryWeight, 30);
    const result = (await underLoad(handle.result())) as ReleaseResult;
    assert.equal(result.canary?.outcome, 'promoted');
    assert.equal((await admin.status(model)).slots.stable?.version, '3.0.0');
  });
});
