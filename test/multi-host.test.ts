// Releases across hosts: two worker "hosts" on one task queue, each with its own private folder
// at the same path (test/helpers/hosts.ts explains and checks the isolation), none able to read
// what another wrote. The first release's worker is SIGKILLed right after export: with stages
// handing each other host paths, the other worker's hash failed with ENOENT (issue 11).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { generateKeyFiles, type GeneratedKeyFiles } from '../src/crypto/keys.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { releaseIdFor } from '../src/release/ids.js';
import { RELEASE_WORKFLOW_TYPE } from '../src/workflows/definitions.js';
import type { ReleaseRequest, ReleaseResult } from '../src/release/types.js';
import { startDevServer, type DevServer } from './helpers/dev-server.js';
import { processEnv, WORKER_MAIN } from './helpers/processes.js';
import { assertIsolated, canSimulateHosts, createHostLab, provision, waitForHostMount, type HostLab, type HostProcess } from './helpers/hosts.js';
import { coreutilsRootDigest } from './helpers/coreutils-digest.js';

const SAMPLE_MODEL = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const simulate = await canSimulateHosts();

describe('releases across hosts', { skip: simulate ? false : 'needs root with unshare and tmpfs to simulate hosts' }, () => {
  let server: DevServer;
  let lab: HostLab;
  let keysDir: string;
  /** The release source: a folder every host can read (as a checkout or a shared volume would be). */
  let sourceDir: string;
  let key: GeneratedKeyFiles;
  let connection: Connection;
  let client: Client;
  const taskQueue = `multi-host-${randomBytes(4).toString('hex')}`;
  const passphrase = `multi-host ${randomBytes(6).toString('hex')}`;
  const hosts = new Map<string, HostProcess>();

  /** Starts worker host `name`: its key and passphrase are copied into its private folder only. */
  async function startWorker(name: string): Promise<HostProcess> {
    await provision(lab, name, {
      passphrase,
      'keys/release.key.pem': await readFile(key.privateKeyPath),
      'keys/release.pub.pem': await readFile(key.publicKeyPath),
    });
    const env = processEnv(lab.hostPath, server, taskQueue, { MODELSHIP_LOG_LEVEL: 'info' });
    const host = lab.spawn(name, [process.execPath, WORKER_MAIN], env);
    hosts.set(name, host);
    await waitForHostMount(host, 'passphrase');
    return host;
  }

  function request(version: string): ReleaseRequest {
    return {
      name: 'cross-host',
      version,
      source: { kind: 'onnx', path: sourceDir },
      // The same path on every host; each host holds the key in its own private folder.
      signingKeyPath: join(lab.hostPath, 'keys', 'release.key.pem'),
      canary: false,
    };
  }

  async function start(version: string): Promise<WorkflowHandle> {
    return client.workflow.start(RELEASE_WORKFLOW_TYPE, { taskQueue, workflowId: releaseIdFor('cross-host', version), args: [request(version)] });
  }

  /** Waits until the history shows `activityType` completed. */
  async function waitForCompleted(handle: WorkflowHandle, activityType: string): Promise<void> {
    for (let i = 0; i < 600; i++) {
      const history = await handle.fetchHistory();
      const scheduled = new Map<string, string>();
      for (const event of history.events ?? []) {
        const s = event.activityTaskScheduledEventAttributes;
        if (s?.activityType?.name) scheduled.set(String(event.eventId), s.activityType.name);
        const c = event.activityTaskCompletedEventAttributes;
        if (c && scheduled.get(String(c.scheduledEventId)) === activityType) return;
      }
      await sleep(50);
    }
    assert.fail(`${activityType} never completed`);
  }

  before(async () => {
    server = await startDevServer();
    lab = await createHostLab();
    keysDir = await mkdtemp(join(tmpdir(), 'modelship-multi-host-keys-'));
    key = await generateKeyFiles(keysDir, 'release', passphrase);
    sourceDir = join(keysDir, 'source');
    await mkdir(sourceDir);
    await copyFile(SAMPLE_MODEL, join(sourceDir, 'sample-mlp.onnx'));
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection, namespace: server.namespace });
  });

  after(async () => {
    await lab?.close();
    await connection?.close();
    await server?.stop();
    if (keysDir) await rm(keysDir, { recursive: true, force: true });
  });

  it('each host has a private folder at the same path that no other host (nor the machine) can read', async () => {
    const w1 = await startWorker('w1');
    const w2 = await startWorker('w2');
    await assertIsolated(lab, [w1, w2]);
    // The provisioning of every host is hidden from each: w1 cannot find w2's copy of the key.
    await assert.rejects(stat(join(`/proc/${w1.child.pid}/root`, lab.provisionDir('w2'), 'passphrase')), { code: 'ENOENT' });
  });

  it('a worker SIGKILLed right after export: the other worker carries the release to its end', { todo: 'stages still hand each other host paths (ENOENT on the other worker): the store-based flow lands next' }, async () => {
    const [w1, w2] = [hosts.get('w1')!, hosts.get('w2')!];
    // Only w1 polls at first, so export runs there.
    await w2.kill9();
    const handle = await start(`1.0.0-${randomBytes(3).toString('hex')}`);
    await waitForCompleted(handle, 'exportModel');
    await w1.kill9();
    await startWorker('w2');
    const result = (await handle.result()) as ReleaseResult;
    assert.equal(result.rootDigest, coreutilsRootDigest(sourceDir));
  });
});
