// Worker Versioning on a real dev server with two worker versions at once: v1 in this process
// (an explicit build id, as MODELSHIP_BUILD_ID gives), v2 a `node dist/src/worker.js` process
// with MODELSHIP_DEPLOYMENT and the build id it derives from the workflow code. A release held
// in its export stage on v1 must finish on v1 after v2 is made current, while a new release
// runs on v2. Ramp, set-current and describe go through the modelship CLI.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import { PROJECT_ROOT } from '../src/paths.js';
import type { ReleaseResult } from '../src/release/types.js';
import type { DeploymentDescription } from '../src/versioning/deployment-admin.js';
import { startDevServer, type DevServer } from './helpers/dev-server.js';
import { startReleaseEnv, TEST_PASSPHRASE, type ReleaseEnv } from './helpers/release-env.js';
import { historyJson } from './helpers/history.js';
import { processEnv, runCli, spawnWorker } from './helpers/processes.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const PINNED = proto.temporal.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_PINNED;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** The build ids of the workers that completed each workflow task of this run. */
async function workflowTaskBuildIds(handle: WorkflowHandle): Promise<string[]> {
  const { events } = await historyJson(handle);
  return events
    .filter((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED')
    .map((e) => (e.workflowTaskCompletedEventAttributes as { deploymentVersion?: { buildId?: string } }).deploymentVersion?.buildId ?? '(unversioned)');
}

async function versioningInfo(handle: WorkflowHandle): Promise<{ behavior: number; buildId?: string }> {
  const info = (await handle.describe()).raw.workflowExecutionInfo?.versioningInfo;
  return { behavior: info?.behavior ?? 0, ...(info?.deploymentVersion?.buildId ? { buildId: info.deploymentVersion.buildId } : {}) };
}

describe('Worker Versioning: two worker versions at once', () => {
  let server: DevServer;
  let v1: ReleaseEnv;
  let v2Worker: ChildProcess | undefined;
  let dir: string;
  let cliEnv: NodeJS.ProcessEnv;
  const deploymentName = `modelship-test-${randomBytes(3).toString('hex')}`;
  const v1BuildId = `v1-${randomBytes(3).toString('hex')}`;
  let v2BuildId = '';
  let gate: string;

  const cli = async (args: string[]) => {
    const r = await runCli(['deployment', ...args], cliEnv);
    assert.equal(r.code, 0, `modelship deployment ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const described = async () => JSON.parse(await cli(['describe', '--json'])) as DeploymentDescription;
  const versionOf = (d: DeploymentDescription, buildId: string) => d.versions.find((v) => v.buildId === buildId);

  before(async () => {
    server = await startDevServer();
    dir = await mkdtemp(join(tmpdir(), 'modelship-versioning-'));
    gate = join(dir, 'gate');
    v1 = await startReleaseEnv({
      server,
      deployment: { deploymentName, buildId: v1BuildId },
      // Holds a release in its export stage until the test opens the gate.
      exporters: { gated: { command: ['bash', '-c', `touch ${gate}.waiting; while [ ! -e ${gate} ]; do sleep 0.1; done; cp {input} {output}`], timeoutSeconds: 600 } },
    });
    await writeFile(join(dir, 'passphrase'), `${TEST_PASSPHRASE}\n`);
    cliEnv = processEnv(dir, server, v1.taskQueue, { MODELSHIP_DEPLOYMENT: deploymentName });
  });

  after(async () => {
    if (v2Worker && v2Worker.exitCode === null) {
      v2Worker.kill('SIGTERM');
      await new Promise((done) => v2Worker!.once('exit', done));
    }
    await v1?.stop();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let first: WorkflowHandle;

  it('a versioned worker gets no release until its version is made current', async () => {
    // The worker's version appears once it has polled.
    await until('v1 to register', async () => (versionOf(await described(), v1BuildId) ? true : undefined));
    assert.equal((await described()).currentBuildId, undefined, 'a new deployment routes to unversioned workers');
    first = await v1.start(v1.request({ source: { kind: 'exporter', exporter: 'gated', input: SAMPLE } }));
    await sleep(3_000);
    assert.deepEqual(await workflowTaskBuildIds(first), [], 'no workflow task ran while no version was current');

    assert.match(await cli(['set-current', '--build-id', v1BuildId]), new RegExp(`${v1BuildId} is current \\(was unversioned\\)`));
    await until('the first release to reach its exporter on v1', async () => (existsSync(`${gate}.waiting`) ? true : undefined));
    assert.deepEqual(await versioningInfo(first), { behavior: PINNED, buildId: v1BuildId });
  });

  it('v2 is ramped, then made current; the running release stays pinned to v1', async () => {
    v2BuildId = (await cli(['build-id'])).trim();
    assert.match(v2BuildId, /^wf-[0-9a-f]{16}$/);
    v2Worker = spawnWorker(processEnv(dir, server, v1.taskQueue, { MODELSHIP_DEPLOYMENT: deploymentName }));
    await until('v2 to register', async () => (versionOf(await described(), v2BuildId) ? true : undefined));

    assert.match(await cli(['ramp', '--build-id', v2BuildId, '--percent', '25']), /ramping at 25% of new releases/);
    let d = await described();
    assert.equal(d.rampingBuildId, v2BuildId);
    assert.equal(d.rampingPercent, 25);

    assert.match(await cli(['set-current', '--build-id', v2BuildId]), new RegExp(`${v2BuildId} is current \\(was ${v1BuildId}\\)`));
    d = await described();
    assert.equal(d.currentBuildId, v2BuildId);
    assert.equal(d.rampingBuildId, undefined, 'making the ramping version current ends the ramp');
    // Visibility is eventually consistent: the count of releases pinned to v1 catches up.
    await until('v1 to show one open pinned release', async () => (versionOf(await described(), v1BuildId)?.openPinned === 1 ? true : undefined), 20_000);
    assert.equal(versionOf(await described(), v1BuildId)?.status, 'draining');
  });

  it('a new release runs on v2 while the first is still open on v1', async () => {
    const second = await v1.start(v1.request({ source: { kind: 'onnx', path: SAMPLE } }));
    const result = (await second.result()) as ReleaseResult;
    const ids = await workflowTaskBuildIds(second);
    assert.ok(ids.length > 3, ids.join(','));
    assert.deepEqual(new Set(ids), new Set([v2BuildId]), 'every workflow task of the second release ran on v2');
    assert.deepEqual(await versioningInfo(second), { behavior: PINNED, buildId: v2BuildId });
    // Its activities ran on the v2 process too: the bundle is in that worker's store.
    assert.ok(result.reference?.startsWith(`oci-layout:${join(dir, 'oci')}/`), result.reference);
    assert.equal((await first.describe()).status.name, 'RUNNING');
  });

  it('the first release finishes on v1, and v1 then drains', async () => {
    await writeFile(gate, '');
    const result = (await first.result()) as ReleaseResult;
    const ids = await workflowTaskBuildIds(first);
    assert.deepEqual(new Set(ids), new Set([v1BuildId]), 'every workflow task of the first release ran on v1');
    assert.ok(result.reference?.startsWith(`oci-layout:${join(v1.dir, 'oci')}/`), result.reference);
    await until('v1 to have no open pinned release', async () => (versionOf(await described(), v1BuildId)?.openPinned === 0 ? true : undefined), 20_000);
  });
});
