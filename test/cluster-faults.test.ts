// Faults of the real Temporal cluster itself (PostgreSQL, mTLS, SQL visibility), each injected
// in the middle of a canary release started by the CLI (`modelship release`, following it to the
// end): the Temporal server SIGKILLed and restarted, PostgreSQL restarted, and the worker
// deployment upgraded from v1 to v2. In every case the release must complete, its root digest
// equal to a clean run's of the same model, and the canary deployed exactly once (counted from
// the serving runtime's "deployed" log lines).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Client, Connection, ServiceError, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, RetryState } from '@temporalio/common';
import { isServerOutage, resultThroughOutages } from '../src/cli/outage.js';
import { startServingRuntime, type ServingRuntime } from '../src/serving/serve.js';
import { generateLoad } from '../src/load/load-generator.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { releaseIdFor } from '../src/release/ids.js';
import { releaseStatusQuery } from '../src/workflow-definitions.js';
import type { ReleaseResult } from '../src/release/types.js';
import type { DeploymentDescription } from '../src/versioning/deployment-admin.js';
import { clusterSkipReason, startCluster, type Cluster } from './helpers/cluster.js';
import { historyJson } from './helpers/history.js';
import { processEnv, runCli, spawnWorker, startCli, type CliRun } from './helpers/processes.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const SIGNATURE = [{ name: 'features', type: 'float32', shape: ['batch', 4] }] as const;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** pg_ctl as the postgres user when root (PostgreSQL refuses root), as temporal/cluster/*.sh run it. */
function pgCtl(args: string[]): void {
  const version = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b)).at(-1)!;
  const bin = join('/usr/lib/postgresql', version, 'bin', 'pg_ctl');
  const argv = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', bin, ...args] : [bin, ...args];
  execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** What the client throws once its own gRPC retries are spent: a ServiceError around the gRPC error. */
function grpcFailure(code: number, details: string): ServiceError {
  const grpc = Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
  return new ServiceError('Failed to get Workflow execution history', { cause: grpc });
}

describe('following a release through an outage of the server', () => {
  it('an unreachable or unready server is an outage; an answer about the workflow is not', () => {
    assert.equal(isServerOutage(grpcFailure(14, 'No connection established')), true);
    assert.equal(isServerOutage(grpcFailure(13, 'shard status unknown')), true);
    assert.equal(isServerOutage(grpcFailure(5, 'workflow not found')), false);
    assert.equal(isServerOutage(grpcFailure(7, 'Request unauthorized')), false);
    assert.equal(isServerOutage(new WorkflowFailedError('failed', ApplicationFailure.create({ message: 'export failed' }), RetryState.NON_RETRYABLE_FAILURE)), false);
  });

  it('waits through outages for the result, rethrows a workflow failure at once, and gives up on an endless outage', async () => {
    let calls = 0;
    const events: string[] = [];
    const value = await resultThroughOutages(
      async () => {
        calls++;
        if (calls < 3) throw grpcFailure(14, 'connection refused');
        return 'released';
      },
      { retryMs: 1, onOutage: () => events.push('outage'), onReconnect: () => events.push('reconnected') },
    );
    assert.equal(value, 'released');
    assert.equal(calls, 3);
    assert.deepEqual(events, ['outage', 'reconnected'], 'told once per outage');

    const failure = new WorkflowFailedError('failed', ApplicationFailure.create({ message: 'export failed' }), RetryState.NON_RETRYABLE_FAILURE);
    calls = 0;
    await assert.rejects(resultThroughOutages(async () => { calls++; throw failure; }, { retryMs: 1 }), (err) => err === failure);
    assert.equal(calls, 1);

    await assert.rejects(resultThroughOutages(async () => { throw grpcFailure(14, 'connection refused'); }, { retryMs: 5, maxOutageMs: 30 }), /Failed to get Workflow execution history/);
  });
});

describe('faults of the cluster itself, mid-release', { skip: clusterSkipReason() ?? false }, () => {
  let cluster: Cluster;
  let dir: string;
  let connection: Connection;
  let client: Client;
  let serving: ServingRuntime;
  let cleanDigest = '';
  const deployLog: string[] = [];
  const secret = randomBytes(24).toString('hex');
  const model = `faulty-${randomBytes(3).toString('hex')}`;
  const taskQueue = `faults-${randomBytes(4).toString('hex')}`;
  const workers = new Set<ChildProcess>();
  let baseEnv: NodeJS.ProcessEnv;

  function startWorker(extra: NodeJS.ProcessEnv = {}, queue = taskQueue): ChildProcess {
    const worker = spawnWorker(processEnv(dir, cluster, queue, { ...cluster.env, MODELSHIP_SERVING_URL: serving.url, MODELSHIP_SERVING_ADMIN_KEY: secret, ...extra }));
    workers.add(worker);
    worker.once('exit', () => workers.delete(worker));
    return worker;
  }

  async function stopWorker(worker: ChildProcess): Promise<void> {
    if (worker.exitCode !== null || worker.signalCode !== null) return;
    worker.kill('SIGTERM');
    await Promise.race([once(worker, 'exit'), sleep(30_000)]);
    if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
  }

  /** `modelship release` of the sample model as `version`, with a short canary, followed to its end (--json). */
  async function cliRelease(version: string, env: NodeJS.ProcessEnv = baseEnv) {
    const plan = join(dir, `canary-${version}.json`);
    await writeFile(plan, JSON.stringify({ model, steps: [{ setWeight: 30 }, { bakeSeconds: 6 }], policy: { minSamplesPerSlot: 30, minShadowComparisons: 20 }, maxExtensions: 10 }));
    return startCli(['release', SAMPLE, '--name', model, '--version', version, '--canary', plan, '--json'], env);
  }

  /** Traffic on the model while `work` runs, so every bake has data. */
  async function underLoad<T>(work: Promise<T>): Promise<T> {
    const stop = new AbortController();
    const load = generateLoad({ baseUrl: serving.url, model, inputs: SIGNATURE, ratePerSecond: 100, durationSeconds: 900, signal: stop.signal });
    try {
      return await work;
    } finally {
      stop.abort();
      await load;
    }
  }

  /** Waits until the release's status query (answered by a worker) shows the canary in `phase`. */
  async function waitForPhase(handle: WorkflowHandle, phase: string): Promise<void> {
    await until(`the canary to reach ${phase}`, async () => ((await handle.query(releaseStatusQuery))?.canary?.phase === phase ? true : undefined));
  }

  function parseResult(run: CliRun): ReleaseResult {
    assert.equal(run.code, 0, `release exited ${run.code}: ${run.stderr}${run.stdout}`);
    return JSON.parse(run.stdout) as ReleaseResult;
  }

  /** The history's completed deployCanary activities for this release (one per deployment the workflow recorded). */
  async function deployCanaryCompletions(handle: WorkflowHandle): Promise<number> {
    const { events } = await historyJson(handle);
    const scheduled = new Map<string, string>();
    for (const e of events) {
      const a = e.activityTaskScheduledEventAttributes as { activityType?: { name?: string } } | undefined;
      if (a) scheduled.set(String(e.eventId), a.activityType?.name ?? '');
    }
    return events.filter((e) => {
      const c = e.activityTaskCompletedEventAttributes as { scheduledEventId?: string | number } | undefined;
      return c && scheduled.get(String(c.scheduledEventId)) === 'deployCanary';
    }).length;
  }

  async function assertOutcome(version: string, run: CliRun): Promise<WorkflowHandle> {
    const result = parseResult(run);
    assert.equal(result.rootDigest, cleanDigest, 'the root digest equals the clean run\'s');
    assert.equal(result.canary?.outcome, 'promoted');
    assert.deepEqual(deployLog.filter((d) => d.endsWith(`:${version}`)), [`canary:${version}`], 'the canary was deployed exactly once');
    const handle = client.workflow.getHandle(releaseIdFor(model, version));
    assert.equal(await deployCanaryCompletions(handle), 1, 'one deployCanary completion in the history');
    return handle;
  }

  before(async () => {
    cluster = await startCluster();
    dir = await mkdtemp(join(tmpdir(), 'modelship-cluster-faults-'));
    await writeFile(join(dir, 'passphrase'), `faults passphrase ${randomBytes(4).toString('hex')}\n`);
    baseEnv = processEnv(dir, cluster, taskQueue, cluster.env);
    connection = await Connection.connect({
      address: cluster.address,
      tls: {
        serverNameOverride: 'localhost',
        serverRootCACertificate: await readFile(cluster.certs.ca),
        clientCertPair: { crt: await readFile(cluster.certs.cert), key: await readFile(cluster.certs.key) },
      },
    });
    client = new Client({ connection, namespace: cluster.namespace });
    for (const args of [['setup-namespace'], ['keys', 'generate']]) {
      const r = await runCli(args, baseEnv);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}${r.stdout}`);
    }
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          const entry = JSON.parse(line) as { msg: string; slot?: string; version?: string };
          if (entry.msg === 'deployed') deployLog.push(`${entry.slot}:${entry.version}`);
        }
        done();
      },
    });
    // Trusts the release key the CLI generated in <dir>/keys (re-read on every deploy).
    serving = await startServingRuntime({ host: '127.0.0.1', port: 0, stateDir: join(dir, 'serving'), trustedKeysDir: join(dir, 'keys'), adminSecret: secret, logger: pino({ level: 'info' }, sink) });
    startWorker();
    // The clean run: the first version goes straight to stable; its digest is the reference.
    const clean = parseResult(await underLoad((await cliRelease('1.0.0')).done));
    assert.equal(clean.canary?.firstVersion, true);
    cleanDigest = clean.rootDigest;
    assert.match(cleanDigest, /^[0-9a-f]{64}$/);
  });

  after(async () => {
    await Promise.all([...workers].map((w) => stopWorker(w)));
    await serving?.close();
    await connection?.close();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the Temporal server SIGKILLed mid-canary and restarted: the release completes, one canary deployment', async () => {
    const release = await cliRelease('2.0.0');
    const handle = client.workflow.getHandle(releaseIdFor(model, '2.0.0'));
    const run = underLoad(
      (async () => {
        await waitForPhase(handle, 'baking');
        const pid = Number((await readFile(join(cluster.dataDir, 'server.pid'), 'utf8')).trim());
        process.kill(pid, 'SIGKILL');
        await until('the server to die', async () => {
          try {
            process.kill(pid, 0);
            return undefined;
          } catch {
            return true;
          }
        });
        // Down for longer than the client's own gRPC retries (10 attempts, about 20 s): the
        // worker's polls and the CLI's wait for the result fail for real, and must recover.
        await sleep(35_000);
        assert.match(await cluster.restart(), /Temporal cluster ready \(pid \d+\)/);
        return release.done;
      })(),
    );
    await assertOutcome('2.0.0', await run);
  });

  it('PostgreSQL restarted mid-canary: the release completes, one canary deployment', async () => {
    const release = await cliRelease('3.0.0');
    const handle = client.workflow.getHandle(releaseIdFor(model, '3.0.0'));
    const run = underLoad(
      (async () => {
        await waitForPhase(handle, 'baking');
        const pgdata = join(cluster.dataDir, 'pg');
        // The options start.sh gave it are kept in postmaster.opts; `restart` reuses them.
        pgCtl(['-D', pgdata, '-m', 'fast', '-w', '-t', '60', 'stop']);
        // Gone for longer than the client's own gRPC retries (about 20 s): the server answers
        // the worker and the CLI with errors until it is back.
        await sleep(35_000);
        const opts = await readFile(join(pgdata, 'postmaster.opts'), 'utf8');
        const port = /-p"? "?(\d+)/.exec(opts)?.[1];
        assert.ok(port, opts);
        pgCtl(['-D', pgdata, '-l', join(cluster.dataDir, 'pg.log'), '-w', '-t', '60', '-o', `-c listen_addresses=127.0.0.1 -p ${port} -k ${pgdata} -c max_connections=100`, 'start']);
        return release.done;
      })(),
    );
    await assertOutcome('3.0.0', await run);
  });

  it('the worker deployment upgraded mid-canary: the release finishes pinned to v1 while v2 is current, and v1 drains', async () => {
    // Versioned workers on their own task queue: the unversioned one above stays out of it.
    const queue = `${taskQueue}-versioned`;
    const deployment = `modelship-faults-${randomBytes(3).toString('hex')}`;
    const env = processEnv(dir, cluster, queue, { ...cluster.env, MODELSHIP_DEPLOYMENT: deployment });
    const cli = async (args: string[]) => {
      const r = await runCli(['deployment', ...args], env);
      assert.equal(r.code, 0, `modelship deployment ${args.join(' ')}: ${r.stderr}${r.stdout}`);
      return r.stdout;
    };
    const described = async () => JSON.parse(await cli(['describe', '--json'])) as DeploymentDescription;
    const versionOf = (d: DeploymentDescription, buildId: string) => d.versions.find((v) => v.buildId === buildId);

    startWorker({ MODELSHIP_DEPLOYMENT: deployment, MODELSHIP_BUILD_ID: 'v1' }, queue);
    await until('v1 to register', async () => (versionOf(await described(), 'v1') ? true : undefined));
    assert.match(await cli(['set-current', '--build-id', 'v1']), /v1 is current/);

    const release = await cliRelease('4.0.0', env);
    const handle = client.workflow.getHandle(releaseIdFor(model, '4.0.0'));
    const run = underLoad(
      (async () => {
        await waitForPhase(handle, 'baking');
        startWorker({ MODELSHIP_DEPLOYMENT: deployment, MODELSHIP_BUILD_ID: 'v2' }, queue);
        await until('v2 to register', async () => (versionOf(await described(), 'v2') ? true : undefined));
        assert.match(await cli(['set-current', '--build-id', 'v2']), /v2 is current \(was v1\)/);
        return release.done;
      })(),
    );
    await assertOutcome('4.0.0', await run);
    const { events } = await historyJson(handle);
    const buildIds = events
      .filter((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED')
      .map((e) => (e.workflowTaskCompletedEventAttributes as { deploymentVersion?: { buildId?: string } }).deploymentVersion?.buildId ?? '(unversioned)');
    assert.deepEqual(new Set(buildIds), new Set(['v1']), 'every workflow task of the release ran on v1, pinned');
    const d = await until('v1 to have no open pinned release', async () => {
      const now = await described();
      return versionOf(now, 'v1')?.openPinned === 0 ? now : undefined;
    }, 60_000);
    assert.equal(d.currentBuildId, 'v2');
    assert.match(versionOf(d, 'v1')!.status, /^(draining|drained)$/);
  });
});
