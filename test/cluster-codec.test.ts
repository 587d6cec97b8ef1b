// Schedules and encrypted payloads on a real Temporal cluster (temporal/cluster/start.sh:
// PostgreSQL, SQL visibility, mTLS, the modelship namespace). The CLI and the workers are
// separate processes configured only by TEMPORAL_* and MODELSHIP_CODEC_* variables, as against
// Temporal Cloud; this process reads the stored history over mTLS with and without the codec.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { loadTemporalSettings } from '../src/temporal-config.js';
import { EncryptionCodec, ENCODING_ENCRYPTED } from '../src/codec/encryption-codec.js';
import { decodeEncryptedPayloads } from '../src/codec/history.js';
import { buildReleaseReport } from '../src/report/release-report.js';
import { BATCH_WORKFLOW_TYPE } from '../src/workflow-definitions.js';
import { ModelName } from '../src/search-attributes.js';
import type { BatchStatus } from '../src/batch/types.js';
import type { Page } from 'playwright-core';
import { startCodecServer, type CodecServer } from '../src/codec/codec-server.js';
import { createLogger } from '../src/logger.js';
import { clusterSkipReason, startCluster, type Cluster } from './helpers/cluster.js';
import { freePorts } from './helpers/dev-server.js';
import { chromiumSkipReason, launchChromium, SCREENSHOTS_DIR } from './helpers/browser.js';
import { startUiServer, uiServerSkipReason, type UiServer } from './helpers/ui-server.js';
import { processEnv, runCli, spawnWorker, type CliRun } from './helpers/processes.js';
import { firstWorkflowTaskFailure, historyStrings, payloadsOf, signingKeySecrets } from './helpers/history.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
const KEY_ID = 'cluster-2026-12';
const KEY = randomBytes(32);
const codec = new EncryptionCodec({ currentKeyId: KEY_ID, keys: new Map([[KEY_ID, KEY]]) });
const TOKEN = randomBytes(16).toString('hex');
const b64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

describe('schedules and encrypted payloads on a real Temporal cluster (mTLS, PostgreSQL)', { skip: clusterSkipReason() ?? false }, () => {
  let cluster: Cluster;
  let dir: string;
  /** The CLI's and the worker's environment: the cluster over mTLS and the codec keys file. */
  let env: NodeJS.ProcessEnv;
  /** The same without codec keys. */
  let plainEnv: NodeJS.ProcessEnv;
  let passphrase: string;
  let connection: Connection;
  /** Reads what the cluster stores: no codec. */
  let rawClient: Client;
  /** Reads with the key, as the CLI and the workers do. */
  let codecClient: Client;
  const workers: ChildProcess[] = [];
  let workerLog = '';
  const tag = randomBytes(3).toString('hex');
  const scheduleId = `nightly-${tag}`;

  async function ok(...args: string[]): Promise<string> {
    const r = await runCli(args, env);
    assert.equal(r.code, 0, `modelship ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /** No key material, passphrase or credential in any string of a history decoded with the key. */
  async function assertDecodedHistoryClean(workflowId: string, runId?: string): Promise<string> {
    const raw = await rawClient.workflow.getHandle(workflowId, runId).fetchHistory();
    const decoded = await decodeEncryptedPayloads(raw, codec);
    const text = historyStrings(JSON.parse(historyToJSON(decoded))).join('\n');
    const secrets = [
      ...signingKeySecrets(await readFile(join(dir, 'keys', 'release.key.pem'), 'utf8'), passphrase),
      KEY.toString('base64'),
      KEY.toString('hex'),
      KEY.toString('base64url'),
      // The mTLS client key is a credential too.
      ...(await readFile(cluster.certs.key, 'utf8')).split('\n').filter((l) => l && !l.startsWith('-----')),
    ];
    for (const secret of secrets) assert.ok(!text.includes(secret), `decoded history of ${workflowId} leaks ${secret.slice(0, 6)}…`);
    return text;
  }

  before(async () => {
    cluster = await startCluster();
    dir = await mkdtemp(join(tmpdir(), 'modelship-cluster-codec-'));
    passphrase = `cluster codec passphrase ${randomBytes(6).toString('hex')}`;
    await writeFile(join(dir, 'passphrase'), `${passphrase}\n`, { mode: 0o600 });
    const keysFile = join(dir, 'codec-keys.json');
    await writeFile(keysFile, JSON.stringify({ current: KEY_ID, keys: { [KEY_ID]: KEY.toString('base64') } }), { mode: 0o600 });
    plainEnv = processEnv(dir, cluster, `cluster-codec-${tag}`, { ...cluster.env, MODELSHIP_LOG_LEVEL: 'info' });
    env = { ...plainEnv, MODELSHIP_CODEC_KEYS_FILE: keysFile };
    const settings = loadTemporalSettings(plainEnv);
    connection = await Connection.connect(settings.connectionOptions as ConnectionOptions);
    rawClient = new Client({ connection, namespace: cluster.namespace });
    codecClient = new Client({ connection, namespace: cluster.namespace, dataConverter: { payloadCodecs: [codec] } });
    await ok('setup-namespace');
    await ok('keys', 'generate');
    const worker = spawnWorker(env, ['ignore', 'ignore', 'pipe']);
    worker.stderr!.setEncoding('utf8').on('data', (d: string) => (workerLog += d));
    workers.push(worker);
  });

  after(async () => {
    for (const w of workers) {
      if (w.exitCode !== null || w.signalCode !== null) continue;
      w.kill('SIGTERM');
      await Promise.race([once(w, 'exit'), sleep(10_000)]);
      if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    }
    await connection?.close();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a release with the codec key: the cluster stores ciphertext, search attributes stay readable, the key gives the request back', async () => {
    const r = await runCli(['release', SAMPLE, '--name', 'sample-mlp', '--version', '1.0.0', '--no-canary', '--json'], env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const result = JSON.parse(r.stdout) as { rootDigest?: string; result?: { rootDigest?: string } };
    const rootDigest = result.rootDigest ?? result.result?.rootDigest;
    const workflowId = 'release-sample-mlp-1.0.0';

    const raw = await rawClient.workflow.getHandle(workflowId).fetchHistory();
    const payloads = payloadsOf(JSON.parse(historyToJSON(raw)));
    const attributes = payloads.filter((p) => /searchAttributes/.test(p.path));
    // patched() markers are written by the SDK's core and never pass through a codec; they hold
    // only the patch id and a flag, no user data: checked.
    const markers = payloads.filter((p) => /markerRecordedEventAttributes\.details\.patch-data/.test(p.path));
    for (const m of markers) assert.match(b64(m.payload.data), /^\{"id":"[^"]+","deprecated":(true|false)\}$/);
    const others = payloads.filter((p) => !/searchAttributes/.test(p.path) && !markers.includes(p));
    assert.ok(others.length >= 10, `expected the request, activity inputs and results as payloads, found ${others.length}`);
    const plaintext = others.filter((p) => b64(p.payload.metadata?.encoding) !== ENCODING_ENCRYPTED).map((p) => `${p.path}: ${b64(p.payload.metadata?.encoding)}`);
    assert.deepEqual(plaintext, [], 'every payload outside search attributes is encrypted');
    for (const p of others) assert.equal(b64(p.payload.metadata?.['encryption-key-id']), KEY_ID);
    // No request field in the clear: not the model path, its name's file, the key path, the digest.
    const stored = others.map((p) => b64(p.payload.data)).join('\n');
    for (const needle of ['sample-mlp.onnx', SAMPLE, join(dir, 'keys'), '"version"', '"name"', ...(rootDigest ? [rootDigest] : [])]) {
      assert.ok(!stored.includes(needle), `the cluster stores ${needle} in the clear`);
    }
    // Search attributes are not payloads: the cluster's visibility (and `list`) still reads them.
    assert.ok(attributes.some((p) => b64(p.payload.data).includes('sample-mlp')), 'ModelName readable in the start event');
    assert.equal((await rawClient.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(ModelName), 'sample-mlp');

    // Without the key the result does not decode; with it, the request comes back.
    await assert.rejects(rawClient.workflow.getHandle(workflowId).result());
    const report = buildReleaseReport(await decodeEncryptedPayloads(raw, codec), workflowId);
    assert.equal(report.outcome, 'released');
    assert.deepEqual([report.request?.name, report.request?.version], ['sample-mlp', '1.0.0']);
    assert.match(report.request?.source ?? '', /sample-mlp\.onnx/);
    if (rootDigest) assert.equal(report.digests.rootDigest, rootDigest);

    // The CLI reads it with the key, and without it names the key id.
    const status = JSON.parse(await ok('status', workflowId, '--json')) as { attributes: { ReleaseStage: string } };
    assert.equal(status.attributes.ReleaseStage, 'released');
    const noKey = await runCli(['status', workflowId, '--json'], plainEnv);
    assert.equal(noKey.code, 1, noKey.stdout);
    const { error } = JSON.parse(noKey.stdout) as { error: { type: string; message: string } };
    assert.equal(error.type, 'CodecKeysMissingError');
    assert.match(error.message, new RegExp(`codec key ${KEY_ID}`));
    // The worker logs the key id, never the key.
    assert.match(workerLog, new RegExp(`"keyIds":\\["${KEY_ID}"\\]`));
    for (const secret of [KEY.toString('base64'), KEY.toString('hex')]) assert.ok(!workerLog.includes(secret), 'no key bytes in the worker log');
  });

  it('the release history decoded with the key holds no key material, passphrase or credential', async () => {
    const text = await assertDecodedHistoryClean('release-sample-mlp-1.0.0');
    assert.ok(text.includes('sample-mlp.onnx'), 'the decoded history is readable');
    assert.ok(text.includes(join(dir, 'keys', 'release.key.pem')), 'the signing key is named by its path only');
  });

  it('schedule create, describe, list, trigger and delete over mTLS; the triggered batch runs, encrypted', async () => {
    await copyFile(SAMPLE, join(dir, 'a.onnx'));
    await copyFile(SAMPLE, join(dir, 'b.onnx'));
    const rolloutFile = join(dir, 'nightly.yaml');
    await writeFile(
      rolloutFile,
      [
        'name: nightly',
        `signingKeyPath: ${join(dir, 'keys', 'release.key.pem')}`,
        'waveSize: 2',
        'defaults: { canary: false }',
        'models:',
        `  - { name: sched-a-${tag}, version: 1.0.0, path: a.onnx }`,
        `  - { name: sched-b-${tag}, version: 1.0.0, path: b.onnx }`,
        '',
      ].join('\n'),
    );
    const created = await ok('schedule', 'create', scheduleId, rolloutFile, '--cron', '0 3 * * *', '--overlap', 'skip', '--paused', '--note', 'on the cluster');
    assert.match(created, new RegExp(`schedule ${scheduleId} created: scheduled batch ${scheduleId} · 2 models in 1 wave of 2 · nightly\\.yaml`));
    // describe decodes the schedule's action (encrypted like any payload) with the key.
    const d = JSON.parse(await ok('schedule', 'describe', scheduleId, '--json')) as Record<string, any>;
    assert.deepEqual(
      [d.paused, d.note, d.overlap, d.spec, d.workflowType, d.workflowIdPrefix, d.taskQueue],
      [true, 'on the cluster', 'skip', 'cron "0 3 * * *"', BATCH_WORKFLOW_TYPE, `batch-${scheduleId}`, plainEnv.MODELSHIP_TASK_QUEUE],
    );
    assert.deepEqual(d.rollout, { name: 'nightly', file: rolloutFile, models: 2, waveSize: 2 });
    // The stored action is ciphertext: the rollout file's path is not in the clear.
    const rawSchedule = await rawClient.workflowService.describeSchedule({ namespace: cluster.namespace, scheduleId });
    const action = rawSchedule.schedule?.action?.startWorkflow?.input?.payloads ?? [];
    assert.ok(action.length > 0, 'the schedule has an action input');
    for (const p of action) {
      assert.equal(Buffer.from(p.metadata?.encoding ?? []).toString(), ENCODING_ENCRYPTED);
      assert.ok(!Buffer.from(p.data ?? []).toString('latin1').includes('nightly.yaml'), 'the rollout path is encrypted');
    }

    const list = JSON.parse(await ok('schedule', 'list', '--json')) as Array<{ scheduleId: string; paused: boolean; rollout: string; models: number }>;
    const mine = list.find((s) => s.scheduleId === scheduleId);
    assert.deepEqual(mine && [mine.paused, mine.rollout, mine.models], [true, 'nightly', 2]);
    assert.match(await ok('schedule', 'list'), new RegExp(`${scheduleId} +PAUSED +cron`));

    // trigger runs the batch now, paused or not.
    const out = await ok('schedule', 'trigger', scheduleId);
    const workflowId = new RegExp(`started (batch-${scheduleId}-\\S+Z);`).exec(out)?.[1];
    assert.ok(workflowId, out);
    const handle = codecClient.workflow.getHandle(workflowId);
    assert.equal((await handle.describe()).type, BATCH_WORKFLOW_TYPE);
    const batch = (await handle.result()) as BatchStatus;
    assert.match(batch.batchId, new RegExp(`^${scheduleId}-\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\dZ$`));
    assert.deepEqual([batch.totals.released, batch.totals.failed], [2, 0]);
    // batch status finds it by BatchId on SQL visibility.
    const status = await ok('batch', 'status', batch.batchId);
    assert.match(status, new RegExp(`released +release-sched-a-${tag}-1\\.0\\.0 +wave 1`));
    assert.match(status, /released 2 +promoted 0 +rolled back 0 +failed 0 +skipped 0/);
    // The batch and its releases are encrypted on the cluster and clean once decoded.
    const rawBatch = payloadsOf(JSON.parse(historyToJSON(await rawClient.workflow.getHandle(workflowId).fetchHistory()))).filter((p) => !/searchAttributes|patch-data/.test(p.path));
    assert.ok(rawBatch.length > 0);
    for (const p of rawBatch) assert.equal(b64(p.payload.metadata?.encoding), ENCODING_ENCRYPTED, p.path);
    const batchText = await assertDecodedHistoryClean(workflowId);
    assert.ok(batchText.includes(join(dir, 'keys', 'release.key.pem')), 'the batch names the key by its path');
    await assertDecodedHistoryClean(`release-sched-a-${tag}-1.0.0`);

    await ok('schedule', 'delete', scheduleId);
    const gone = await runCli(['schedule', 'describe', scheduleId], env);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, new RegExp(`no schedule ${scheduleId}`));
  });

  it('a worker with the wrong key, or none, fails the workflow task naming the key id, and runs nothing', async () => {
    const cases: Array<[string, NodeJS.ProcessEnv, RegExp]> = [
      ['wrong', { MODELSHIP_CODEC_KEYS: `${KEY_ID}=${randomBytes(32).toString('base64')}` }, new RegExp(`does not decrypt with the key configured as ${KEY_ID}`)],
      ['none', {}, new RegExp(`encrypted with codec key ${KEY_ID}, but this process has no codec keys`)],
    ];
    await Promise.all(
      cases.map(async ([name, keys, expected]) => {
        const taskQueue = `cluster-codec-${name}-${tag}`;
        const worker = spawnWorker({ ...plainEnv, ...keys, MODELSHIP_TASK_QUEUE: taskQueue });
        workers.push(worker);
        // The CLI (with the right key) starts the release on that worker's queue and returns.
        const started: CliRun = await runCli(['release', SAMPLE, '--name', `keyless-${name}`, '--version', '1.0.0', '--no-canary', '--no-follow'], { ...env, MODELSHIP_TASK_QUEUE: taskQueue });
        assert.equal(started.code, 0, started.stderr + started.stdout);
        const workflowId = `release-keyless-${name}-1.0.0`;
        assert.match(await firstWorkflowTaskFailure(rawClient, workflowId, 3000), expected);
        const history = JSON.parse(historyToJSON(await rawClient.workflow.getHandle(workflowId).fetchHistory())) as { events: Array<{ eventType: string }> };
        assert.ok(!history.events.some((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED'), 'no stage ran');
        await rawClient.workflow.getHandle(workflowId).terminate('test over');
      }),
    );
  });

  it('the Web UI (temporalio/ui-server on the cluster over mTLS): with the codec endpoint the request shows decoded; without it, ciphertext', { skip: chromiumSkipReason() ?? uiServerSkipReason() ?? false }, async () => {
    const workflowId = 'release-sample-mlp-1.0.0';
    const runId = (await rawClient.workflow.getHandle(workflowId).describe()).runId;
    const keyPath = join(dir, 'keys', 'release.key.pem');
    // The UI needs the codec endpoint at start, the codec server the UI's origin: the port first.
    const [codecPort] = await freePorts(1);
    const uis: UiServer[] = [];
    let codecServer: CodecServer | undefined;
    const browser = await launchChromium();
    try {
      const withCodec = await startUiServer(cluster, { codecEndpoint: `http://127.0.0.1:${codecPort}` });
      uis.push(withCodec);
      const without = await startUiServer(cluster);
      uis.push(without);
      codecServer = await startCodecServer({ codec, token: TOKEN, uiOrigins: [new URL(withCodec.url).origin], port: codecPort!, logger: createLogger('cluster-codec-ui', { level: 'error' }) });
      let requestsToCodec = 0;
      const pageText = async (page: Page) => (await Promise.all(page.frames().map((f) => f.locator('body').innerText({ timeout: 1_000 }).catch(() => '')))).join('\n');
      const visible = async (page: Page, text: string, name: string) => {
        let body = '';
        for (let i = 0; i < 240; i++) {
          body = await pageText(page);
          if (body.includes(text)) return body;
          await sleep(250);
        }
        await page.screenshot({ path: join(SCREENSHOTS_DIR, `${name}-FAILED.png`), fullPage: true }).catch(() => undefined);
        return assert.fail(`${JSON.stringify(text)} never showed on ${page.url()}; screenshot ${name}-FAILED.png; page text:\n${body.slice(0, 3000)}`);
      };
      const path = `/namespaces/${encodeURIComponent(cluster.namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;

      // An SSO proxy would add this header in production; here the browser sends it itself.
      const decodedContext = await browser.newContext({ viewport: { width: 1400, height: 900 }, extraHTTPHeaders: { Authorization: `Bearer ${TOKEN}` } });
      const page = await decodedContext.newPage();
      page.on('request', (req) => {
        if (req.url().startsWith(codecServer!.url)) requestsToCodec++;
      });
      await page.goto(`${withCodec.url}${path}`);
      await visible(page, keyPath, 'cluster-codec-ui-decoded');
      await page.screenshot({ path: join(SCREENSHOTS_DIR, 'cluster-codec-ui-decoded.png'), fullPage: true });
      assert.ok(requestsToCodec > 0, 'the page called the codec server');
      await decodedContext.close();

      const started = (await rawClient.workflow.getHandle(workflowId).fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
      const ciphertext = Buffer.from(started?.input?.payloads?.[0]?.data ?? []).toString('base64');
      assert.ok(ciphertext.length > 100);
      const plainContext = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const plainPage = await plainContext.newPage();
      await plainPage.goto(`${without.url}${path}`);
      const text = await visible(plainPage, ciphertext.slice(0, 60), 'cluster-codec-ui-ciphertext');
      assert.ok(!text.includes(keyPath), 'the request is not readable');
      assert.ok(!text.includes('sample-mlp.onnx'), 'the source path is not readable');
      await plainPage.screenshot({ path: join(SCREENSHOTS_DIR, 'cluster-codec-ui-ciphertext.png'), fullPage: true });
      await plainContext.close();
    } finally {
      await browser.close();
      for (const ui of uis) await ui.stop();
      await codecServer?.close();
    }
  });
});
