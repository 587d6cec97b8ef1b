// The operator's terminal, as processes: a worker deploying to a real serving runtime, and the
// CLI following releases (progress lines when stdout is not a TTY), listing them through
// visibility, showing one as a table, and answering --json for every command, errors included.
import { pino } from 'pino';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { PROJECT_ROOT } from '../src/paths.js';
import { releaseStatusQuery } from '../src/workflow-definitions.js';
import { startServingRuntime, type ServingRuntime } from '../src/serving/serve.js';
import { fmtBytes, hashProgressOf, progressView } from '../src/cli/progress.js';
import { startDevServer, type DevServer } from './helpers/dev-server.js';
import { processEnv, runCli, startCli } from './helpers/processes.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
/** Sparse: no disk written, but one hash thread takes a while over it. */
const WEIGHTS_BYTES = 1536 * 1024 * 1024;

const start = startCli;
const run = runCli;

async function json<T>(args: string[], env: NodeJS.ProcessEnv, expectCode = 0): Promise<T> {
  const r = await run([...args, '--json'], env);
  assert.equal(r.code, expectCode, `${args.join(' ')}: ${r.stderr}${r.stdout}`);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    return assert.fail(`${args.join(' ')} --json printed no JSON document:\n${r.stdout}`);
  }
}

async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, tries = 300): Promise<T> {
  let value = await read();
  for (let i = 0; i < tries && !ok(value); i++) {
    await sleep(100);
    value = await read();
  }
  assert.ok(ok(value), `${what} never happened (last: ${JSON.stringify(value)?.slice(0, 2000)})`);
  return value;
}

interface ErrorJson {
  error: { type: string; message: string; exitCode: number };
}

describe('the operator CLI (processes)', () => {
  let server: DevServer;
  let serving: ServingRuntime;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let worker: ChildProcess;
  let workerLog = '';
  let connection: Connection;
  let client: Client;
  const model = `ops-${randomBytes(3).toString('hex')}`;
  const secret = randomBytes(24).toString('hex');
  const v1 = `release-${model}-1.0.0`;
  const v2 = `release-${model}-2.0.0`;
  let kid = '';

  before(async () => {
    server = await startDevServer();
    dir = await mkdtemp(join(tmpdir(), 'modelship-ops-cli-'));
    await mkdir(join(dir, 'trusted'));
    await writeFile(join(dir, 'passphrase'), `ops passphrase ${randomBytes(4).toString('hex')}\n`);
    await writeFile(join(dir, 'admin.key'), secret);
    serving = await startServingRuntime({ host: '127.0.0.1', port: 0, stateDir: join(dir, 'serving'), trustedKeysDir: join(dir, 'trusted'), adminSecret: secret, logger: pino({ level: 'silent' }) });
    env = processEnv(dir, server, `ops-${randomBytes(4).toString('hex')}`, {
      MODELSHIP_SERVING_URL: serving.url,
      MODELSHIP_SERVING_ADMIN_KEY_FILE: join(dir, 'admin.key'),
      MODELSHIP_LOG_LEVEL: 'info',
    });
    const keys = await json<{ kid: string; publicKeyPath: string }>(['keys', 'generate'], env);
    kid = keys.kid;
    await copyFile(keys.publicKeyPath, join(dir, 'trusted', 'release.pub.pem'));
    // One hash thread and frequent heartbeats: the hash of the big model is seen under way.
    worker = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'src', 'worker.js')], {
      env: { ...env, MODELSHIP_HASH_THREADS: '1', MODELSHIP_HEARTBEAT_THROTTLE_MS: '100', MODELSHIP_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    worker.stderr!.setEncoding('utf8').on('data', (d: string) => (workerLog += d));
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection, namespace: server.namespace });
  });

  after(async () => {
    if (worker?.exitCode === null) {
      worker.kill('SIGCONT');
      worker.kill('SIGKILL');
    }
    await connection?.close();
    await serving?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('keys generate --json gives the kid and the files', () => {
    assert.match(kid, /^[A-Za-z0-9_-]{43}$/);
  });

  it('release prints hashing progress lines from the heartbeat details while the hash runs (not a TTY)', async () => {
    const modelDir = join(dir, 'big-model');
    await mkdir(modelDir);
    await copyFile(SAMPLE, join(modelDir, 'model.onnx'));
    await writeFile(join(modelDir, 'weights.bin'), '');
    await truncate(join(modelDir, 'weights.bin'), WEIGHTS_BYTES);
    const cli = start(['release', modelDir, '--name', model, '--version', '1.0.0'], env);
    // Hold the worker still once the server has a checkpoint: the CLI must show it from the
    // server alone, then the release goes on.
    const seen = await until(
      'a hash checkpoint on the server',
      () => client.workflow.getHandle(v1).describe().then(hashProgressOf, () => undefined),
      (p) => p !== undefined && p.bytesDone > 0,
      600,
    );
    worker.kill('SIGSTOP');
    try {
      await until('a hash progress line', async () => cli.output(), (out) => /\.\.\. {2}hash {4}\d+%/.test(out));
    } finally {
      worker.kill('SIGCONT');
    }
    const r = await cli.done;
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const line = /\.\.\. {2}hash {4}(\d+)% {2}(\S+ \S+) of 1\.5 GiB/.exec(r.stdout);
    assert.ok(line, `no hash progress line:\n${r.stdout}`);
    assert.ok(Number(line[1]) >= Math.floor((seen!.bytesDone / WEIGHTS_BYTES) * 100) && Number(line[1]) < 100, line[0]);
    assert.match(r.stdout, new RegExp(`ok +hash .* bytes=${WEIGHTS_BYTES + 1630}`));
    assert.match(r.stdout, /first version, deployed to stable/);
  });

  it('release follows the canary step by step; approve --json answers a pause', async () => {
    await writeFile(join(dir, 'pause-plan.json'), JSON.stringify({ steps: [{ setWeight: 50 }, { pause: { timeoutSeconds: 300 } }] }));
    const cli = start(['release', SAMPLE, '--name', model, '--version', '2.0.0', '--canary', join(dir, 'pause-plan.json')], env);
    await until('the pause', () => client.workflow.getHandle(v2).query(releaseStatusQuery).catch(() => undefined), (s) => s?.canary?.phase === 'paused');
    await until('the pause line', async () => cli.output(), (out) => out.includes('waiting for an operator'));
    const answer = await json<{ releaseId: string; control: string; accepted: boolean; answer: string }>(['approve', v2], env);
    assert.deepEqual(answer, { releaseId: v2, control: 'approve', accepted: true, answer: 'approved: the canary goes on' });
    const r = await cli.done;
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /\.\.\. {2}canary {2}step 2 of 2, 50% of traffic: paused/);
    assert.match(r.stdout, /\.\.\. {2}canary {2}all 2 steps done, 100% of traffic: promoted/);
    assert.match(r.stdout, /canary +50% +approve: approved by an operator/);
    assert.match(r.stdout, /canary promoted to stable at 100%/);
  });

  it('list finds releases through visibility, filtered by model, stage and verdict', async () => {
    type Listed = { query: string; releases: Array<{ releaseId: string; model: string; version: string; stage: string; verdict: string; workflowStatus: string; url: string }> };
    const both = await until('both releases listed as promoted', () => json<Listed>(['list', '--model', model, '--stage', 'promoted'], env), (l) => l.releases.length === 2);
    assert.equal(both.query, `WorkflowType = 'ReleaseWorkflow' AND ModelName = '${model}' AND ReleaseStage = 'promoted'`);
    assert.deepEqual(both.releases.map((r) => [r.releaseId, r.version, r.verdict, r.workflowStatus]), [
      [v2, '2.0.0', 'promoted', 'COMPLETED'],
      [v1, '1.0.0', 'promoted', 'COMPLETED'],
    ]);
    assert.equal((await json<Listed>(['list', '--model', model, '--limit', '1'], env)).releases.length, 1);
    assert.deepEqual((await json<Listed>(['list', '--model', model, '--verdict', 'rolled_back'], env)).releases, []);
    assert.deepEqual((await json<Listed>(['list', '--model', `${model}-other`], env)).releases, []);

    const table = await run(['list', '--model', model], env);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^RELEASE +MODEL +VERSION +STAGE +VERDICT +CANARY +STARTED +TOOK +STATUS$/);
    assert.match(lines[2]!, new RegExp(`^${v2} +${model} +2\\.0\\.0 +promoted +promoted +100% .* COMPLETED$`));
    assert.match(lines[3]!, new RegExp(`^${v1} +${model} +1\\.0\\.0 +promoted +promoted +`));
    assert.equal(lines.length, 4);
  });

  it('status shows a release as a table of stages with state, duration and key figures', async () => {
    const r = await run(['status', v2], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /STAGE +STATE +STARTED +TOOK +KEY FIGURES/);
    for (const stage of ['export', 'hash', 'sign', 'attest', 'smoke', 'canary']) {
      assert.match(r.stdout, new RegExp(`\\n  ${stage} +succeeded +\\d\\d:\\d\\d:\\d\\d +\\d+\\.\\ds +\\S`), stage);
    }
    assert.match(r.stdout, /hash +succeeded .*rootDigest=sha256:[0-9a-f]{12}… +files=1/);
    assert.match(r.stdout, new RegExp(`sign +succeeded .*kid=${kid}`));
    assert.match(r.stdout, /decided +promote at 50%: canary is now stable at 100%/);
    const status = await json<{ workflowStatus: string; stages: Array<{ stage: string; state: string; durationMs: number; figures: Record<string, unknown> }>; decisions: Array<{ kind: string }> }>(['status', v2], env);
    assert.equal(status.workflowStatus, 'COMPLETED');
    assert.deepEqual(status.stages.map((s) => `${s.stage}:${s.state}`), ['export', 'hash', 'sign', 'attest', 'smoke', 'canary'].map((s) => `${s}:succeeded`));
    assert.deepEqual(status.decisions.map((d) => d.kind), ['weight', 'weight', 'pause', 'approve', 'promote']);
  });

  it('every other command answers --json with one document', async () => {
    const released = await json<{ releaseId: string; rootDigest: string; reference: string; url: string }>(['release', SAMPLE, '--name', model, '--version', '3.0.0', '--no-canary'], env);
    assert.equal(released.releaseId, `release-${model}-3.0.0`);
    assert.match(released.rootDigest, /^[0-9a-f]{64}$/);
    const pulled = await json<{ bundleDir: string }>(['pull', released.reference, join(dir, 'pulled-3.0.0')], env);
    const verified = await json<{ ok: boolean }>(['verify', pulled.bundleDir, '--key', join(dir, 'keys', 'release.pub.pem')], env);
    assert.equal(verified.ok, true);
    const report = await json<{ file: string; report: { outcome: string } }>(['report', released.releaseId, '-o', join(dir, 'r3.html')], env);
    assert.deepEqual([report.file, report.report.outcome], [join(dir, 'r3.html'), 'released']);
    const load = await json<{ sent: number; errors: number }>(['load', model, '--bundle', pulled.bundleDir, '--rate', '20', '--duration', '1'], env);
    assert.ok(load.sent > 0 && load.errors === 0, JSON.stringify(load));
    const rollback = await json<{ message: string; status: { slots: { stable: { version: string } | null } } }>(['rollback', model], env);
    assert.equal(rollback.status.slots.stable?.version, '1.0.0', 'the previous stable is back');
  });

  it('errors are JSON too, with a non-zero exit', async () => {
    const missing = await json<ErrorJson>(['status', `release-${model}-9.9.9`], env, 1);
    assert.match(missing.error.message, /no release release-.*-9\.9\.9/);
    assert.equal(missing.error.exitCode, 1);
    const refused = await json<ErrorJson>(['approve', v2], env, 1);
    assert.match(refused.error.message, /approve failed for|approve refused/);
    const corrupt = join(dir, 'corrupt.onnx');
    await writeFile(corrupt, 'not protobuf');
    const failed = await json<ErrorJson>(['release', corrupt, '--name', model, '--version', '4.0.0'], env, 1);
    assert.match(failed.error.message, /failed at export: corrupt\.onnx is not a valid ONNX model/);
    const usage = await json<ErrorJson>(['list', '--verdict', 'maybe'], env, 2);
    assert.equal(usage.error.type, 'CliError');
    assert.match(usage.error.message, /--verdict must be one of pending, pass, fail/);
    const unknown = await json<ErrorJson>(['list', '--colour'], env, 1);
    assert.deepEqual([unknown.error.type, unknown.error.message], ['UsageError', "unknown option '--colour'"]);
  });
});

describe('progress views', () => {
  const fakeStream = (isTTY: boolean) => {
    const writes: string[] = [];
    return { stream: { isTTY, columns: 100, write: (s: string) => writes.push(s) > 0 } as unknown as NodeJS.WriteStream, writes };
  };

  it('on a terminal: bars redrawn in place under the lines that stay, removed at the end', () => {
    const { stream, writes } = fakeStream(true);
    const view = progressView(stream);
    view.hash({ bytesDone: 512 * 1024 * 1024, bytesTotal: 1024 * 1024 * 1024 });
    view.canary({ model: 'm', step: 1, steps: 4, weight: 20, phase: 'baking' });
    const screen = writes.join('');
    assert.match(screen, /hash {4}\[█{15}░{15}\] 50% {2}512 MiB of 1\.0 GiB/);
    assert.match(screen, /canary {2}\[█{8}░{22}\] step 2 of 4, 20% of traffic: baking/);
    writes.length = 0;
    view.line('  ok   hash');
    // Clears both bar lines (cursor up one, clear to the end), prints the line, draws the bars again.
    assert.equal(writes[0], '\r\x1b[1A\x1b[0J');
    assert.equal(writes[1], '  ok   hash\n');
    assert.match(writes[2]!, /hash .*\n {2}canary /);
    writes.length = 0;
    view.end();
    assert.deepEqual(writes, ['\r\x1b[1A\x1b[0J']);
  });

  it('elsewhere: a line per 10% hashed and per canary change, no escape codes', () => {
    const { stream, writes } = fakeStream(false);
    const view = progressView(stream);
    const total = 1000;
    for (const done of [10, 50, 120, 130, 990]) view.hash({ bytesDone: done, bytesTotal: total });
    view.canary({ model: 'm', step: 0, steps: 2, weight: 50, phase: 'baking' });
    view.canary({ model: 'm', step: 0, steps: 2, weight: 50, phase: 'baking' });
    view.canary({ model: 'm', step: 1, steps: 2, weight: 50, phase: 'analyzing' });
    assert.deepEqual(writes, [
      '  ...  hash    1%  10 B of 1000 B\n',
      '  ...  hash    12%  120 B of 1000 B\n',
      '  ...  hash    99%  990 B of 1000 B\n',
      '  ...  canary  step 1 of 2, 50% of traffic: baking\n',
      '  ...  canary  step 2 of 2, 50% of traffic: analyzing\n',
    ]);
    assert.equal(fmtBytes(1536 * 1024 * 1024), '1.5 GiB');
  });
});
