// `modelship schedule …` and `modelship batch …` as users run them: CLI processes configured by
// environment, against a real dev server and a real worker (in this process) on its task queue.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../src/paths.js';
import { BATCH_WORKFLOW_TYPE } from '../src/workflow-definitions.js';
import { BatchId } from '../src/search-attributes.js';
import { batchIdFromWorkflowId } from '../src/batch/ids.js';
import type { BatchStatus } from '../src/batch/types.js';
import { startReleaseEnv, type ReleaseEnv } from './helpers/release-env.js';
import { runCli, type CliRun } from './helpers/processes.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');

describe('modelship schedule and batch CLI', () => {
  let env: ReleaseEnv;
  let dir: string;
  let cliEnv: NodeJS.ProcessEnv;
  let rolloutFile: string;
  const tag = randomBytes(3).toString('hex');
  const scheduleId = `nightly-${tag}`;

  function cli(...args: string[]): Promise<CliRun> {
    return runCli(args, cliEnv);
  }

  async function ok(...args: string[]): Promise<string> {
    const r = await cli(...args);
    assert.equal(r.code, 0, `modelship ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }
  const describeJson = async () => JSON.parse(await ok('schedule', 'describe', scheduleId, '--json')) as Record<string, any>;

  before(async () => {
    env = await startReleaseEnv();
    dir = await mkdtemp(join(tmpdir(), 'modelship-schedule-'));
    cliEnv = {
      PATH: process.env.PATH,
      HOME: dir,
      USER: 'scheduler-test',
      TEMPORAL_ADDRESS: env.server.address,
      TEMPORAL_NAMESPACE: env.server.namespace,
      TEMPORAL_CONFIG_FILE: join(dir, 'no-such-temporal.toml'),
      MODELSHIP_TASK_QUEUE: env.taskQueue,
      MODELSHIP_HOME: dir,
      MODELSHIP_LOG_FORMAT: 'json',
    };
    await copyFile(SAMPLE, join(dir, 'a.onnx'));
    await copyFile(SAMPLE, join(dir, 'b.onnx'));
    rolloutFile = join(dir, 'nightly.yaml');
    await writeFile(
      rolloutFile,
      [
        'name: nightly',
        `signingKeyPath: ${env.key.privateKeyPath}`,
        'waveSize: 2',
        'defaults: { canary: false }',
        'models:',
        `  - { name: sched-a-${tag}, version: 1.0.0, path: a.onnx }`,
        `  - { name: sched-b-${tag}, version: 1.0.0, path: b.onnx }`,
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await env?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses bad input with a clear error and a non-zero exit, creating nothing', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['schedule', 'create', scheduleId, join(dir, 'missing.yaml'), '--cron', '0 3 * * *'], /cannot read the rollout file .*missing\.yaml: no such file/],
      [['schedule', 'create', scheduleId, rolloutFile, '--cron', 'every night at three'], /invalid --cron "every night at three": expected 5 fields/],
      [['schedule', 'create', scheduleId, rolloutFile, '--cron', '0 3 * * *', '--overlap', 'sometimes'], /unknown --overlap "sometimes": use one of skip, buffer-one, buffer-all, cancel-other, terminate-other, allow-all/],
      [['schedule', 'create', scheduleId, rolloutFile], /say when: --cron/],
      [['schedule', 'create', scheduleId, rolloutFile, '--interval', 'hourly'], /invalid --interval "hourly"/],
      [['schedule', 'create', 'bad/id', rolloutFile, '--cron', '0 3 * * *'], /invalid schedule id "bad\/id"/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      assert.notEqual(r.code, 0, `${args.join(' ')} must fail`);
      assert.match(r.stderr, message);
    }
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'models:\n  - { name: x, version: 1.0.0 }\n');
    const r = await cli('schedule', 'create', scheduleId, bad, '--cron', '0 3 * * *');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /models\[0\] \(x@1\.0\.0\): path: is required/);
    // A value the server refuses (minute 99) is reported as such.
    const server = await cli('schedule', 'create', scheduleId, rolloutFile, '--cron', '99 3 * * *');
    assert.notEqual(server.code, 0);
    assert.equal(server.code, 2);
    assert.match(server.stderr, /refused by Temporal: invalid spec: Minute is not in range \[0-59\]/);
    assert.equal((await cli('schedule', 'describe', scheduleId)).code, 1, 'nothing was created');
  });

  it('create, describe, overwrite, pause, unpause and list round-trip', async () => {
    const created = await ok('schedule', 'create', scheduleId, rolloutFile, '--cron', '0 3 * * *', '--overlap', 'buffer-one', '--catchup-window', '10m', '--paused', '--note', 'created by the test');
    assert.match(created, new RegExp(`schedule ${scheduleId} created: scheduled batch ${scheduleId} · 2 models in 1 wave of 2 · nightly\\.yaml`));
    let d = await describeJson();
    assert.deepEqual(
      [d.paused, d.note, d.overlap, d.catchupWindowSeconds, d.spec, d.workflowType, d.workflowIdPrefix, d.taskQueue],
      [true, 'created by the test', 'buffer-one', 600, 'cron "0 3 * * *"', BATCH_WORKFLOW_TYPE, `batch-${scheduleId}`, env.taskQueue],
    );
    assert.deepEqual(d.rollout, { name: 'nightly', file: rolloutFile, models: 2, waveSize: 2 });

    const again = await cli('schedule', 'create', scheduleId, rolloutFile, '--cron', '0 3 * * *');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists: add --overwrite/);
    await ok('schedule', 'create', scheduleId, rolloutFile, '--interval', '1h', '--overlap', 'skip', '--paused', '--note', 'overwritten', '--overwrite');
    d = await describeJson();
    assert.deepEqual([d.paused, d.note, d.overlap, d.spec], [true, 'overwritten', 'skip', 'every 1h']);

    await ok('schedule', 'unpause', scheduleId, '--note', 'go');
    d = await describeJson();
    assert.deepEqual([d.paused, d.note], [false, 'go']);
    assert.ok(d.nextRuns.length > 0, 'an unpaused schedule has next runs');
    await ok('schedule', 'pause', scheduleId, '--note', 'maintenance');
    d = await describeJson();
    assert.deepEqual([d.paused, d.note], [true, 'maintenance']);

    const list = JSON.parse(await ok('schedule', 'list', '--json')) as Array<{ scheduleId: string; paused: boolean; rollout: string; models: number }>;
    const mine = list.find((s) => s.scheduleId === scheduleId);
    assert.deepEqual(mine && [mine.paused, mine.rollout, mine.models], [true, 'nightly', 2]);
    assert.match(await ok('schedule', 'list'), new RegExp(`${scheduleId} +PAUSED +every 1h`));
  });

  let firstBatch: BatchStatus;

  it('trigger runs a batch (one batch id per run); a second run skips what the first released', async () => {
    const out = await ok('schedule', 'trigger', scheduleId);
    const workflowId = new RegExp(`started (batch-${scheduleId}-\\S+Z);`).exec(out)?.[1];
    assert.ok(workflowId, out);
    const handle = env.client.workflow.getHandle(workflowId);
    assert.equal((await handle.describe()).type, BATCH_WORKFLOW_TYPE);
    firstBatch = (await handle.result()) as BatchStatus;
    assert.equal(firstBatch.batchId, batchIdFromWorkflowId(workflowId));
    assert.match(firstBatch.batchId, new RegExp(`^${scheduleId}-\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\dZ$`));
    assert.deepEqual([firstBatch.totals.released, firstBatch.totals.failed], [2, 0]);
    const child = await env.client.workflow.getHandle(`release-sched-a-${tag}-1.0.0`).describe();
    assert.equal(child.typedSearchAttributes.get(BatchId), firstBatch.batchId);
    assert.equal((await handle.describe()).typedSearchAttributes.get(BatchId), firstBatch.batchId);

    // batch status finds a scheduled batch by its batch id (through the BatchId search attribute).
    const status = await ok('batch', 'status', firstBatch.batchId);
    assert.match(status, new RegExp(`released +release-sched-a-${tag}-1\\.0\\.0 +wave 1`));
    assert.match(status, /released 2 +promoted 0 +rolled back 0 +failed 0 +skipped 0/);

    await sleep(1100); // the schedule names runs by the second
    const second = JSON.parse(await ok('schedule', 'trigger', scheduleId, '--json')) as { workflowId: string };
    assert.notEqual(second.workflowId, workflowId);
    const rerun = (await env.client.workflow.getHandle(second.workflowId).result()) as BatchStatus;
    assert.notEqual(rerun.batchId, firstBatch.batchId);
    assert.deepEqual([rerun.totals.skipped, rerun.totals.existing, rerun.totals.released], [2, 2, 0]);
  });

  it('backfill takes the runs of a past window; delete removes the schedule', async () => {
    await ok('schedule', 'backfill', scheduleId, '--start', '2020-01-01T02:30:00Z', '--end', '2020-01-01T03:30:00Z', '--overlap', 'allow-all');
    const workflowId = `batch-${scheduleId}-2020-01-01T03:00:00Z`;
    let status: BatchStatus | undefined;
    for (let i = 0; i < 100 && !status; i++) {
      status = (await env.client.workflow.getHandle(workflowId).result().catch(() => undefined)) as BatchStatus | undefined;
      if (!status) await sleep(200);
    }
    assert.ok(status, `the backfill started ${workflowId}`);
    assert.equal(status.batchId, `${scheduleId}-2020-01-01T03-00-00Z`);
    assert.equal(status.totals.skipped, 2);

    await ok('schedule', 'delete', scheduleId);
    const gone = await cli('schedule', 'describe', scheduleId);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, new RegExp(`no schedule ${scheduleId}`));
  });

  it('batch start --wait follows a batch and exits 1 when a release failed; batch halt refuses a finished batch', async () => {
    await writeFile(join(dir, 'corrupt.onnx'), (await readFile(SAMPLE)).subarray(0, 800));
    const file = join(dir, 'mixed.yaml');
    await writeFile(file, JSON.stringify({ signingKeyPath: env.key.privateKeyPath, defaults: { canary: false }, models: [{ name: `cli-ok-${tag}`, version: '1.0.0', path: 'a.onnx' }, { name: `cli-bad-${tag}`, version: '1.0.0', path: 'corrupt.onnx' }] }));
    const r = await cli('batch', 'start', file, '--id', `cli-${tag}`, '--wait');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`released +release-cli-ok-${tag}-1\\.0\\.0 +wave 1`));
    assert.match(r.stdout, new RegExp(`failed +release-cli-bad-${tag}-1\\.0\\.0 +wave 1 +release .* failed at export`));
    assert.match(r.stdout, /batch cli-\w+ completed: 2 models in 1 waves/);
    assert.match(r.stderr, /batch cli-\w+ completed: 1 failed, 0 rolled back, 0 skipped/);

    const json = JSON.parse(await ok('batch', 'status', `cli-${tag}`, '--json')) as { workflowStatus: string; status: BatchStatus };
    assert.equal(json.workflowStatus, 'COMPLETED');
    assert.deepEqual([json.status.totals.released, json.status.totals.failed], [1, 1]);
    const halt = await cli('batch', 'halt', `cli-${tag}`);
    assert.equal(halt.code, 1);
    assert.match(halt.stderr, /halt (refused|failed)/);
    const started = JSON.parse(await ok('batch', 'start', file, '--id', `cli-${tag}`, '--json')) as { batchId: string; workflowId: string };
    assert.deepEqual([started.batchId, started.workflowId], [`cli-${tag}`, `batch-cli-${tag}`]);
    await env.client.workflow.getHandle(started.workflowId).result();
  });
});
