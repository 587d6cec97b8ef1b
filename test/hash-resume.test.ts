// A worker process SIGKILLed in the middle of hashing a multi-GiB model: a new worker's retry
// resumes from the shards the server recorded in the activity's heartbeat details. The test
// shows the bytes re-read are far fewer than the total and the digests equal a clean run's.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { generateKeyFiles, loadPublicKey, type GeneratedKeyFiles } from '../src/crypto/keys.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { releaseIdFor } from '../src/release/ids.js';
import { RELEASE_WORKFLOW_TYPE } from '../src/workflow-definitions.js';
import type { HashResult, ReleaseRequest, ReleaseResult } from '../src/release/types.js';
import type { HashCheckpoint } from '../src/activities/hash-bundle.js';
import { verifyBundle } from '../src/bundle/verify.js';
import { OciBundleStore } from '../src/store/oci-bundle-store.js';
import { BlobCache } from '../src/store/blob-cache.js';
import { startDevServer, type DevServer } from './helpers/dev-server.js';
import { coreutilsRootDigest } from './helpers/coreutils-digest.js';
import { processEnv, spawnWorker } from './helpers/processes.js';
import { DEFAULT_SHARD_BYTES } from '../src/hashing/digest-rule.js';

const WEIGHTS_BYTES = 3 * 1024 * 1024 * 1024;

describe('hash stage resumes after a worker crash', () => {
  let server: DevServer;
  let dir: string;
  let modelDir: string;
  let key: GeneratedKeyFiles;
  let client: Client;
  let connection: Connection;
  const passphrase = `resume ${randomBytes(4).toString('hex')}`;
  const taskQueue = `hash-resume-${randomBytes(4).toString('hex')}`;
  const workers = new Set<ChildProcess>();

  function startWorker(): ChildProcess {
    const worker = spawnWorker(
      // One thread makes the hash long enough to kill mid-way; frequent heartbeats keep the server's checkpoint fresh.
      processEnv(dir, server, taskQueue, { MODELSHIP_HASH_THREADS: '1', MODELSHIP_HEARTBEAT_THROTTLE_MS: '100' }),
    );
    workers.add(worker);
    worker.once('exit', () => workers.delete(worker));
    return worker;
  }

  before(async () => {
    server = await startDevServer();
    dir = await mkdtemp(join(tmpdir(), 'modelship-hash-resume-'));
    await mkdir(join(dir, 'keys'));
    await writeFile(join(dir, 'passphrase'), passphrase);
    key = await generateKeyFiles(join(dir, 'keys'), 'release', passphrase);
    modelDir = join(dir, 'model');
    await mkdir(modelDir);
    await copyFile(join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx'), join(modelDir, 'model.onnx'));
    // Distinct content in every MiB, so every shard has its own digest.
    const handle = await open(join(modelDir, 'weights.bin'), 'w');
    const block = randomBytes(1 << 20);
    for (let mib = 0; mib < WEIGHTS_BYTES / (1 << 20); mib++) {
      block.writeUInt32LE(mib, 0);
      await handle.write(block);
    }
    await handle.close();
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection, namespace: server.namespace });
  });

  after(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await connection?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('re-reads far fewer bytes than the model holds, and gets the digest a clean run gets', async () => {
    const first = startWorker();
    const request: ReleaseRequest = { name: 'resumed', version: '1.0.0', source: { kind: 'onnx', path: modelDir }, signingKeyPath: key.privateKeyPath, canary: false };
    const handle = await client.workflow.start(RELEASE_WORKFLOW_TYPE, { taskQueue, workflowId: releaseIdFor('resumed', '1.0.0'), args: [request] });

    // Watch the checkpoint the server holds; kill the worker once it covers a quarter of the bytes.
    // Export copies 3 GiB first, which on a loaded machine takes minutes: the bound is generous
    // and is only there so a stuck release fails the test instead of hanging it.
    let seen: HashCheckpoint | undefined;
    let last = 'nothing pending yet';
    const deadline = Date.now() + 10 * 60_000;
    while (!seen && Date.now() < deadline) {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      const hash = pending.find((a) => a.activityType?.name === 'hashBundle');
      const payload = hash?.heartbeatDetails?.payloads?.[0];
      const details = payload ? defaultPayloadConverter.fromPayload<HashCheckpoint>(payload) : undefined;
      if (pending.length) last = pending.map((a) => `${a.activityType?.name} attempt ${a.attempt}`).join(', ') + (details ? ` at ${details.bytesDone}/${details.bytesTotal} bytes` : '');
      if (details && details.bytesDone >= details.bytesTotal / 4) seen = details;
      else if (hash) await sleep(20);
      else if (await hashStageEnded(handle)) break;
      else await sleep(200);
    }
    assert.ok(seen, `the hash stage never recorded a checkpoint covering a quarter of the model (last seen: ${last})`);
    first.kill('SIGKILL');
    await once(first, 'exit');
    assert.ok(seen.bytesDone < seen.bytesTotal, 'the worker was killed before the hash finished');
    assert.ok(seen.partial.some((p) => p.path === 'weights.bin' && p.shards.length > 0), 'the checkpoint lists finished shards of the large file');

    startWorker();
    const result = (await handle.result().catch(async (err: unknown) => {
      const failed = ((await handle.fetchHistory()).events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes ? [`attempt ${e.activityTaskStartedEventAttributes.attempt}`] : []));
      return assert.fail(`the release failed: ${causeChain(err)} (final attempts of its activities: ${failed.join(', ')})`);
    })) as ReleaseResult;

    // The hash activity's own result, as history recorded it.
    const history = await handle.fetchHistory();
    const hashed = (history.events ?? [])
      .flatMap((e) => e.activityTaskCompletedEventAttributes?.result?.payloads ?? [])
      .map((p) => defaultPayloadConverter.fromPayload<Partial<HashResult>>(p))
      .find((r) => typeof r?.bytesHashed === 'number') as HashResult;
    assert.ok(hashed, 'no hash result in history');
    // Temporal records the started event of the attempt that ended only. Which attempt that is
    // depends on load (a retry whose heartbeats were late times out too and runs again), so
    // what must hold is that a later attempt, not the first, finished the stage.
    const finalAttempt = hashAttemptThatFinished(history);
    assert.ok(finalAttempt >= 2, `the hash stage finished on attempt ${finalAttempt}, not on a retry`);

    // Whichever attempt finished resumed from a checkpoint at least as far as the one seen before
    // the kill (checkpoints only grow), and read only the rest. The slack is the one 64 MiB shard
    // the killed thread was part-way through: counted in bytesDone, not yet in the checkpoint.
    const inFlight = DEFAULT_SHARD_BYTES;
    assert.equal(hashed.bytesHashed! + hashed.bytesResumed!, hashed.totalBytes);
    assert.ok(hashed.bytesResumed! >= seen.bytesDone - inFlight, `resumed ${hashed.bytesResumed} bytes, the checkpoint held ${seen.bytesDone}`);
    assert.ok(hashed.bytesHashed! <= hashed.totalBytes - seen.bytesDone + inFlight, `the retry re-read ${hashed.bytesHashed} of ${hashed.totalBytes} bytes`);

    // Same digests as hashing from scratch (by coreutils, independently of our code).
    assert.equal(result.rootDigest, coreutilsRootDigest(modelDir));
    const pulled = await new OciBundleStore({ cache: new BlobCache(join(dir, 'test-blobs')) }).pullBundle(result.reference!, join(dir, 'pulled'));
    assert.equal((await verifyBundle(pulled.bundleDir, await loadPublicKey(key.publicKeyPath))).ok, true);
  });
});

/** The attempt number of the hashBundle attempt that ended (the only one with a started event). */
function hashAttemptThatFinished(history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>): number {
  const events = history.events ?? [];
  const scheduled = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'hashBundle').map((e) => String(e.eventId)));
  const started = events.flatMap((e) => {
    const a = e.activityTaskStartedEventAttributes;
    return a && scheduled.has(String(a.scheduledEventId)) ? [a.attempt ?? 1] : [];
  });
  assert.equal(started.length, 1, 'one hashBundle activity ended');
  return started[0]!;
}

/** Whether history already holds the hash stage's end (it finished before a checkpoint was seen). */
async function hashStageEnded(handle: WorkflowHandle): Promise<boolean> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'hashBundle').map((e) => String(e.eventId)));
  return events.some((e) => {
    const ended = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    return ended && scheduled.has(String(ended.scheduledEventId));
  });
}

/** "message <- cause <- cause …": a failed workflow's own message says only that it failed. */
function causeChain(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e && parts.length < 8; e = e.cause as typeof e) parts.push(e.message ?? String(e));
  return parts.join(' <- ');
}
