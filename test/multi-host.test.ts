// Releases across hosts (issue 11): two worker "hosts" and one serving runtime, each process in
// its own mount namespace with a private tmpfs at the same path (test/helpers/hosts.ts says how
// isolation is guaranteed; the first test proves it), none able to read another's files. They
// share only the network: Temporal, a real registry (distribution v3.1.2) and the serving API.
//
// Each host holds the release key encrypted under its own passphrase in its own key folder; the
// release names the key by kid. The passphrase file is a FIFO fed by the test, so a stage that
// signs (sign, attest, smoke) can be held still on whichever worker took it and that worker
// SIGKILLed mid-stage; export and hash move a 192 MiB model and are caught while they run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { encryptPkcs8 } from '../src/crypto/encrypted-pkcs8.js';
import { generateKeyFiles, type GeneratedKeyFiles } from '../src/crypto/keys.js';
import { generateLoad } from '../src/load/load-generator.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { releaseIdFor } from '../src/release/ids.js';
import { RELEASE_WORKFLOW_TYPE, releaseStatusQuery } from '../src/workflow-definitions.js';
import { ServingAdminClient } from '../src/serving-client/admin-client.js';
import type { ReleaseRequest, ReleaseResult } from '../src/release/types.js';
import { freePorts, startDevServer, type DevServer } from './helpers/dev-server.js';
import { processEnv, WORKER_MAIN } from './helpers/processes.js';
import { assertIsolated, canSimulateHosts, createHostLab, provision, waitForHostMount, type HostLab, type HostProcess } from './helpers/hosts.js';
import { registryUnavailable, startRegistry, type TestRegistry } from './helpers/registry.js';
import { coreutilsRootDigest } from './helpers/coreutils-digest.js';
import { historyJson, historyStrings, payloadSizes } from './helpers/history.js';

const SAMPLE_MODEL = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const SERVE_MAIN = join(PROJECT_ROOT, 'dist', 'src', 'serving', 'serve.js');
const SIGNATURE = [{ name: 'features', type: 'float32', shape: ['batch', 4] }] as const;
const MODEL = 'cross-host';
const WORKERS = ['w1', 'w2'] as const;
/** temporal.api.enums.v1.PendingActivityState.SCHEDULED (@temporalio/proto is not a direct dependency). */
const PENDING_ACTIVITY_STATE_SCHEDULED = 1;
type WorkerName = (typeof WORKERS)[number];

const skip = !(await canSimulateHosts()) ? 'needs root with unshare and tmpfs to simulate hosts' : registryUnavailable();

describe('releases across hosts', { skip: skip ?? false }, () => {
  let server: DevServer;
  let registry: TestRegistry;
  let lab: HostLab;
  let scratch: string;
  let key: GeneratedKeyFiles;
  let sourceDir: string;
  let connection: Connection;
  let client: Client;
  let serve: HostProcess;
  let servingUrl: string;
  const adminSecret = randomBytes(24).toString('hex');
  const registryPassword = `pw-${randomBytes(8).toString('hex')}`;
  const taskQueue = `multi-host-${randomBytes(4).toString('hex')}`;
  const passphrases: Record<WorkerName, string> = { w1: `w1 ${randomBytes(6).toString('hex')}`, w2: `w2 ${randomBytes(6).toString('hex')}` };
  const workers = new Map<WorkerName, HostProcess>();
  const deployed: string[] = [];
  /** Passphrase reads the feeders may still answer (Infinity: all). */
  let passphraseBudget = Number.POSITIVE_INFINITY;
  const feeders = new Map<WorkerName, ChildProcess>();

  /**
   * Feeds `name`'s FIFO passphrase file one read at a time, while the budget lasts: a stage that
   * signs blocks on the read once the budget is spent, with its worker pinned to that stage.
   */
  function feed(name: WorkerName, host: HostProcess): void {
    if (feeders.has(name) || host.child.exitCode !== null || host.child.signalCode !== null || passphraseBudget <= 0) return;
    const writer = spawn('sh', ['-c', 'printf %s "$1" > "$2"', 'feed', passphrases[name], host.view('passphrase')], { stdio: 'ignore' });
    feeders.set(name, writer);
    writer.once('exit', (code) => {
      feeders.delete(name);
      if (code !== 0) return;
      passphraseBudget--;
      if (passphraseBudget <= 0) for (const f of feeders.values()) f.kill('SIGKILL');
      // The next write waits until this reader has closed the FIFO (else it would read both).
      setTimeout(() => feed(name, host), 150);
    });
  }

  function setBudget(reads: number): void {
    passphraseBudget = reads;
    // Writers already waiting would each answer one more read.
    if (reads <= 0) for (const f of feeders.values()) f.kill('SIGKILL');
    for (const [name, host] of workers) feed(name, host);
  }

  async function startWorker(name: WorkerName): Promise<HostProcess> {
    const pem = createPrivateKey({ key: await readFile(key.privateKeyPath, 'utf8'), format: 'pem', passphrase: 'the test key' });
    await provision(lab, name, {
      // The same key, encrypted under this host's own passphrase, in this host's key folder.
      'signing-keys/release.key.pem': encryptPkcs8(pem.export({ format: 'der', type: 'pkcs8' }) as Buffer, passphrases[name]),
      'signing-keys/release.pub.pem': await readFile(key.publicKeyPath),
      'admin.key': adminSecret,
    });
    const env = processEnv(lab.hostPath, server, taskQueue, {
      MODELSHIP_STORE: `${registry.address}/modelship`,
      MODELSHIP_REGISTRY_USERNAME: 'ci',
      MODELSHIP_REGISTRY_PASSWORD: registryPassword,
      MODELSHIP_SIGNING_KEYS_DIR: join(lab.hostPath, 'signing-keys'),
      MODELSHIP_SERVING_URL: servingUrl,
      MODELSHIP_SERVING_ADMIN_KEY_FILE: join(lab.hostPath, 'admin.key'),
      MODELSHIP_HASH_THREADS: '1',
    });
    const host = lab.spawn(name, [process.execPath, WORKER_MAIN], env);
    await waitForHostMount(host, 'admin.key');
    await runIn(host, ['mkfifo', '-m', '600', join(lab.hostPath, 'passphrase')]);
    workers.set(name, host);
    void host.exited.then(() => feeders.get(name)?.kill('SIGKILL'));
    feed(name, host);
    return host;
  }

  /** Runs a command inside the host's mount namespace (nsenter through its pid). */
  async function runIn(host: HostProcess, argv: readonly string[]): Promise<void> {
    const child = spawn('nsenter', ['-t', String(host.child.pid), '-m', '--', ...argv], { stdio: 'inherit' });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, `${argv.join(' ')} in ${host.name}`);
  }

  async function startServing(): Promise<void> {
    await provision(lab, 'serve', { 'admin.key': adminSecret, 'trusted/release.pub.pem': await readFile(key.publicKeyPath) });
    const [port] = await freePorts(1);
    servingUrl = `http://127.0.0.1:${port}`;
    const env = {
      PATH: process.env.PATH,
      HOME: lab.hostPath,
      MODELSHIP_HOME: lab.hostPath,
      MODELSHIP_LOG_FORMAT: 'json',
      MODELSHIP_LOG_LEVEL: 'info',
      MODELSHIP_REGISTRY_USERNAME: 'ci',
      MODELSHIP_REGISTRY_PASSWORD: registryPassword,
    };
    const args = ['--port', String(port), '--state-dir', join(lab.hostPath, 'state'), '--trusted-keys-dir', join(lab.hostPath, 'trusted'), '--admin-key-file', join(lab.hostPath, 'admin.key')];
    serve = lab.spawn('serve', [process.execPath, SERVE_MAIN, ...args], env, {
      onLine: (line) => {
        const entry = JSON.parse(line) as { msg?: string; slot?: string; version?: string };
        if (entry.msg === 'deployed') deployed.push(`${entry.slot}:${entry.version}`);
      },
    });
    for (let i = 0; i < 200; i++) {
      if (await fetch(`${servingUrl}/healthz`).then((r) => r.ok, () => false)) return;
      await sleep(50);
    }
    assert.fail('the serving runtime did not start');
  }

  function request(version: string, bakeSeconds = 2): ReleaseRequest {
    return {
      name: MODEL,
      version,
      source: { kind: 'onnx', path: sourceDir },
      // Each worker resolves the kid in its own MODELSHIP_SIGNING_KEYS_DIR.
      signingKeyPath: `kid:${key.kid}`,
      canary: { model: MODEL, steps: [{ setWeight: 50 }, { bakeSeconds }], policy: { minSamplesPerSlot: 20, minShadowComparisons: 10 }, maxExtensions: 5 },
    };
  }

  async function start(version: string, bakeSeconds?: number): Promise<WorkflowHandle> {
    return client.workflow.start(RELEASE_WORKFLOW_TYPE, { taskQueue, workflowId: releaseIdFor(MODEL, version), args: [request(version, bakeSeconds)] });
  }

  /** The worker running `activityType` now (its pending attempt's identity is `<pid>@<host>`). */
  async function workerRunning(handle: WorkflowHandle, activityType: string): Promise<WorkerName> {
    for (let i = 0; i < 1200; i++) {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      // A worker identity appears once an attempt has started (SCHEDULED attempts have none yet).
      const running = pending.find((p) => p.activityType?.name === activityType && p.lastWorkerIdentity && Number(p.state) !== PENDING_ACTIVITY_STATE_SCHEDULED);
      const pid = running?.lastWorkerIdentity?.split('@')[0];
      const name = [...workers].find(([, h]) => String(h.child.pid) === pid)?.[0];
      if (name) return name;
      await sleep(25);
    }
    assert.fail(`${activityType} never started`);
  }

  /** No credential, passphrase, key material or model bytes in the release's history: references and digests only. */
  async function assertHistoryClean(handle: WorkflowHandle): Promise<void> {
    const history = await historyJson(handle);
    const text = historyStrings(history).join('\n');
    const der = createPrivateKey({ key: await readFile(key.privateKeyPath, 'utf8'), format: 'pem', passphrase: 'the test key' }).export({ format: 'der', type: 'pkcs8' });
    const seed = der.subarray(der.length - 32);
    const secrets = [registryPassword, Buffer.from(`ci:${registryPassword}`).toString('base64'), adminSecret, passphrases.w1, passphrases.w2, seed.toString('hex'), seed.toString('base64'), der.toString('base64')];
    for (const secret of secrets) assert.ok(!text.includes(secret), `history leaks ${secret.slice(0, 6)}…`);
    for (const file of ['sample-mlp.onnx', 'weights.bin']) {
      const chunk = (await readFile(join(sourceDir, file))).subarray(200, 264);
      for (const form of [chunk.toString('base64'), chunk.toString('hex'), chunk.toString('latin1')]) assert.ok(!text.includes(form), `history carries bytes of ${file}`);
    }
    assert.ok(Math.max(...payloadSizes(history)) < 16 * 1024, 'payloads stay small');
  }

  async function underLoad<T>(work: Promise<T>): Promise<T> {
    const stop = new AbortController();
    const load = generateLoad({ baseUrl: servingUrl, model: MODEL, inputs: SIGNATURE, ratePerSecond: 60, durationSeconds: 600, signal: stop.signal });
    try {
      return await work;
    } finally {
      stop.abort();
      await load;
    }
  }

  before(async () => {
    server = await startDevServer();
    registry = await startRegistry({ users: { ci: registryPassword } });
    lab = await createHostLab();
    scratch = await mkdtemp(join(tmpdir(), 'modelship-multi-host-'));
    key = await generateKeyFiles(join(scratch, 'keys'), 'release', 'the test key');
    // The release source, readable by every host (as a checkout or a shared volume would be):
    // the sample model and 192 MiB of weights, so export and hash run long enough to be caught.
    sourceDir = join(scratch, 'source');
    await mkdir(sourceDir);
    await copyFile(SAMPLE_MODEL, join(sourceDir, 'sample-mlp.onnx'));
    const weights = await open(join(sourceDir, 'weights.bin'), 'w');
    for (let i = 0; i < 192; i++) await weights.write(randomBytes(1 << 20));
    await weights.close();
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection, namespace: server.namespace });
    await startServing();
    for (const name of WORKERS) await startWorker(name);
  });

  after(async () => {
    passphraseBudget = 0;
    for (const f of feeders.values()) f.kill('SIGKILL');
    await lab?.close();
    await connection?.close();
    await registry?.stop();
    await server?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('each host has a private folder at the same path that no other host (nor the machine) can read', async () => {
    await assertIsolated(lab, [...workers.values(), serve]);
    // Every host's provisioning is hidden from the others: w1 cannot find w2's key.
    await assert.rejects(stat(join(`/proc/${workers.get('w1')!.child.pid}/root`, lab.provisionDir('w2'), 'signing-keys', 'release.key.pem')), { code: 'ENOENT' });
    await assert.rejects(stat(join(`/proc/${serve.child.pid}/root`, lab.provisionDir('w1'), 'admin.key')), { code: 'ENOENT' });
  });

  it('the first version goes to stable through the registry; the serving runtime pulled it by digest', async () => {
    const handle = await start('1.0.0');
    const result = await resultOf(handle);
    assert.equal(result.canary?.firstVersion, true);
    assert.match(result.reference ?? '', new RegExp(`^${registry.address}/modelship/${MODEL}:1\\.0\\.0@sha256:[0-9a-f]{64}$`));
    assert.equal(result.rootDigest, coreutilsRootDigest(sourceDir));
    const admin = new ServingAdminClient({ baseUrl: servingUrl, secret: adminSecret });
    const stable = (await admin.status(MODEL)).slots.stable!;
    assert.equal(stable.reference, result.reference);
    // Its copy is in the serving host's own folder, which no worker can see.
    const served = stable.bundleDir.replace(lab.hostPath, '');
    assert.ok((await stat(serve.view(join(served, 'model.jws')))).isFile());
    for (const w of workers.values()) await assert.rejects(stat(w.view(join(served, 'model.jws'))), { code: 'ENOENT' });
    assert.deepEqual(deployed, ['stable:1.0.0']);
    await assertHistoryClean(handle);
  });

  // For each stage: hold it (or catch it running) on whichever worker took it, SIGKILL that
  // worker, let the other finish the release, then bring a fresh host up in the killed one's place.
  const stages: ReadonlyArray<{ stage: string; activity: string; budget?: number }> = [
    { stage: 'export', activity: 'exportModel' },
    { stage: 'hash', activity: 'hashBundle' },
    { stage: 'sign', activity: 'signManifest', budget: 0 },
    { stage: 'attest', activity: 'attestProvenance', budget: 1 },
    { stage: 'smoke', activity: 'smokeTest', budget: 2 },
    { stage: 'canary bake', activity: 'setCanaryWeight' },
  ];
  for (const [i, { stage, activity, budget }] of stages.entries()) {
    it(`a worker SIGKILLed during ${stage}: the release completes on the other worker, the canary deployed once`, async () => {
      const version = `2.${i}.0`;
      setBudget(budget ?? Number.POSITIVE_INFINITY);
      const handle = await start(version, 3);
      let victimName: WorkerName;
      if (stage === 'canary bake') {
        // The bake is a timer: the worker to kill is the one that just set the weight (and holds the workflow).
        for (let j = 0; j < 1200 && (await handle.query(releaseStatusQuery).catch(() => undefined))?.canary?.phase !== 'baking'; j++) await sleep(25);
        const [weighted] = startedBy(await handle.fetchHistory(), activity);
        const pid = weighted?.identity.split('@')[0];
        victimName = [...workers].find(([, h]) => String(h.child.pid) === pid)?.[0] ?? assert.fail(`no running worker set the weight (${weighted?.identity})`);
      } else {
        victimName = await workerRunning(handle, activity);
        if (budget !== undefined) await sleep(300); // the stage is now blocked reading its passphrase
      }
      const victim = workers.get(victimName)!;
      await victim.kill9();
      workers.delete(victimName);
      setBudget(Number.POSITIVE_INFINITY);
      const result = await underLoad(resultOf(handle));

      assert.equal(result.canary?.outcome, 'promoted');
      assert.equal(result.rootDigest, coreutilsRootDigest(sourceDir));
      assert.deepEqual(deployed.filter((d) => d.endsWith(`:${version}`)), [`canary:${version}`], 'the canary was deployed exactly once');
      const history = await handle.fetchHistory();
      // The stage the worker died in was finished by the other worker, in a later attempt.
      const checked = stage === 'canary bake' ? 'promoteCanary' : activity;
      const finishers = startedBy(history, checked);
      assert.ok(finishers.length > 0 && finishers.every((s) => !s.identity.startsWith(`${victim.child.pid}@`)), `${checked} finished on ${JSON.stringify(finishers)}, not on the killed ${victimName}`);
      if (stage !== 'canary bake') assert.ok(finishers.some((s) => s.attempt >= 2), `${checked} took a retry: ${JSON.stringify(finishers)}`);
      await assertHistoryClean(handle);
      await startWorker(victimName);
    });
  }
});

/** Who ran each final attempt of `activityType` (Temporal records the started event of the attempt that ended). */
function startedBy(history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>, activityType: string): Array<{ identity: string; attempt: number }> {
  const scheduled = new Set<string>();
  const out: Array<{ identity: string; attempt: number }> = [];
  for (const event of history.events ?? []) {
    if (event.activityTaskScheduledEventAttributes?.activityType?.name === activityType) scheduled.add(String(event.eventId));
    const started = event.activityTaskStartedEventAttributes;
    if (started && scheduled.has(String(started.scheduledEventId))) out.push({ identity: started.identity ?? '', attempt: started.attempt ?? 1 });
  }
  return out;
}

/** The release's result; a failure is rethrown with its causes spelled out (the stage and why). */
async function resultOf(handle: WorkflowHandle): Promise<ReleaseResult> {
  try {
    return (await handle.result()) as ReleaseResult;
  } catch (err) {
    const chain: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) chain.push(e.message);
    throw new Error(`release ${handle.workflowId} failed: ${chain.join(' <- ')}`);
  }
}
