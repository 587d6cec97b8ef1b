// The same code on a real Temporal cluster: the server built by temporal/cluster/install.sh on a
// private PostgreSQL (SQL visibility), mTLS on every connection, the dedicated `modelship`
// namespace, all started by temporal/cluster/start.sh. The CLI and a worker run as separate
// processes configured only by TEMPORAL_* variables, as against Temporal Cloud.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, X509Certificate } from 'node:crypto';
import { PROJECT_ROOT } from '../src/paths.js';
import { releaseSearchAttributes } from '../src/search-attributes.js';
import { missingSearchAttribute } from '../src/search-attribute-check.js';
import { SearchAttributesMissingError } from '../src/errors/index.js';
import { connectHint } from '../src/cli/client.js';
import { clusterSkipReason, runClusterScript, startCluster, type Cluster } from './helpers/cluster.js';
import { processEnv, runCli, spawnWorker, WORKER_MAIN } from './helpers/processes.js';

const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
/** The temporal CLI the scripts use (temporal/install.sh resolves it; the project venv's by default). */
const temporalCli = () => execFileSync('bash', [join(PROJECT_ROOT, 'temporal', 'install.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
const ATTRIBUTE_NAMES = releaseSearchAttributes.map((k) => k.name).sort();

/** pid is a live process: not gone, and not a zombie its adoptive parent has yet to reap. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

interface ListJson {
  query: string;
  releases: Array<{ releaseId: string; model: string | null; version: string | null; stage: string | null; verdict: string | null; workflowStatus: string }>;
}

describe('what a cluster refuses, explained', () => {
  it('the server refusing an unregistered search attribute becomes SearchAttributesMissing naming it', () => {
    const cases = [
      '3 INVALID_ARGUMENT: Namespace modelship has no mapping defined for search attribute ModelName',
      "3 INVALID_ARGUMENT: invalid query: invalid expression: column name 'Verdict' is not a valid search attribute",
      '3 INVALID_ARGUMENT: search attribute BatchId is not defined',
    ];
    for (const [i, text] of cases.entries()) {
      const err = missingSearchAttribute(new Error('Failed to start Workflow', { cause: new Error(text) }), 'ns');
      assert.ok(err instanceof SearchAttributesMissingError, text);
      assert.equal(err.type, 'SearchAttributesMissing');
      assert.equal(err.attribute, ['ModelName', 'Verdict', 'BatchId'][i]);
      assert.match(err.message, /^namespace ns has no search attribute \w+: run 'modelship setup-namespace'/);
    }
    assert.equal(missingSearchAttribute(new Error('3 INVALID_ARGUMENT: WorkflowId is not set'), 'ns'), undefined);
  });

  it('a failed connection points at the dev server, or at the mTLS settings', () => {
    assert.match(connectHint({ connectionOptions: { address: '127.0.0.1:7233' } }), /npm run temporal:start/);
    assert.match(connectHint({ connectionOptions: { address: 'h:7933', tls: true } }), /needs a client certificate: TEMPORAL_TLS_CLIENT_CERT_PATH/);
    const withCert = connectHint({ connectionOptions: { address: 'h:7933', tls: { clientCertPair: { crt: Buffer.from('c'), key: Buffer.from('k') } } } });
    assert.match(withCert, /accepts this client certificate/);
  });
});

describe('a real Temporal cluster: PostgreSQL, SQL visibility, mTLS, the modelship namespace', { skip: clusterSkipReason() ?? false }, () => {
  let cluster: Cluster;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let worker: ChildProcess | undefined;

  before(async () => {
    cluster = await startCluster();
    dir = await mkdtemp(join(tmpdir(), 'modelship-cluster-cli-'));
    await writeFile(join(dir, 'passphrase'), `cluster passphrase ${randomBytes(4).toString('hex')}\n`);
    env = processEnv(dir, cluster, `cluster-${randomBytes(4).toString('hex')}`, cluster.env);
  });

  after(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await Promise.race([once(worker, 'exit'), new Promise((r) => setTimeout(r, 10_000))]);
      if (worker.exitCode === null) worker.kill('SIGKILL');
    }
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('start.sh printed the address and the client certificate, key and CA; the certificates are real and the keys private', async () => {
    assert.match(cluster.startOutput, new RegExp(`Temporal cluster ready .* at ${cluster.address.replace(/\./g, '\\.')} \\(namespace modelship, retention 72h`));
    for (const path of Object.values(cluster.certs)) assert.ok(cluster.startOutput.includes(path), `start.sh did not print ${path}`);
    const ca = new X509Certificate(await readFile(cluster.certs.ca));
    const client = new X509Certificate(await readFile(cluster.certs.cert));
    const server = new X509Certificate(await readFile(join(cluster.dataDir, 'certs', 'server.pem')));
    assert.ok(client.verify(ca.publicKey) && server.verify(ca.publicKey), 'leaf certificates are signed by the CA');
    assert.match(server.subjectAltName ?? '', /DNS:localhost.*IP Address:127\.0\.0\.1/);
    assert.equal((await stat(cluster.certs.key)).mode & 0o077, 0, 'client key readable by its owner only');
  });

  it('the server is v1.31.2 on PostgreSQL with SQL visibility, and the namespace keeps closed runs 72h', () => {
    const cli = temporalCli();
    const temporal = (...args: string[]) =>
      JSON.parse(
        execFileSync(cli, [...args, '-o', 'json', '--address', cluster.address, '--tls-cert-path', cluster.certs.cert, '--tls-key-path', cluster.certs.key,
          '--tls-ca-path', cluster.certs.ca, '--tls-server-name', 'localhost', '--disable-config-env', '--disable-config-file'], { encoding: 'utf8' }),
      ) as Record<string, unknown>;
    const described = temporal('operator', 'cluster', 'describe');
    assert.equal(described.serverVersion, '1.31.2');
    assert.equal(described.persistenceStore, 'postgres12');
    assert.equal(described.visibilityStore, 'postgres12');
    const namespace = temporal('operator', 'namespace', 'describe', '--namespace', 'modelship') as { config: { workflowExecutionRetentionTtl: string } };
    assert.equal(namespace.config.workflowExecutionRetentionTtl, `${72 * 3600}s`);
  });

  it('a second start.sh finds the cluster running and leaves it alone', async () => {
    assert.match(await cluster.restart(), /Temporal cluster already running \(pid \d+\) at /);
  });

  it('the frontend refuses a client without a certificate', async () => {
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _c, TEMPORAL_TLS_CLIENT_KEY_PATH: _k, ...noCert } = env;
    const r = await runCli(['list'], noCert);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`cannot reach Temporal at ${cluster.address}`));
    assert.match(r.stderr, /a cluster with mTLS needs a client certificate: TEMPORAL_TLS_CLIENT_CERT_PATH/);
  });

  it('before setup-namespace, a release and a filtered list are refused naming the missing attribute and the fix', async () => {
    // The dev server has them from temporal/start.sh; a cluster's namespace starts without any.
    const release = await runCli(['release', SAMPLE, '--name', 'sample-mlp', '--version', '0.0.1', '--no-canary', '--json'], env);
    assert.equal(release.code, 1, release.stdout + release.stderr);
    const { error } = JSON.parse(release.stdout) as { error: { type: string; message: string } };
    assert.equal(error.type, 'SearchAttributesMissing');
    // The server names the first unregistered one it meets, in no fixed order.
    const missing = new RegExp(`namespace modelship has no search attribute (${ATTRIBUTE_NAMES.join('|')}): run 'modelship setup-namespace'`);
    assert.match(error.message, missing);
    // A worker refuses to start there rather than let every release hang on failing workflow tasks.
    const early = spawn(process.execPath, [WORKER_MAIN], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let earlyErr = '';
    early.stderr!.setEncoding('utf8').on('data', (d: string) => (earlyErr += d));
    const [code] = (await once(early, 'exit')) as [number | null];
    assert.equal(code, 1, earlyErr);
    assert.match(earlyErr, missing);
    const list = await runCli(['list', '--model', 'sample-mlp'], env);
    assert.equal(list.code, 1, list.stdout);
    assert.match(list.stderr, /namespace modelship has no search attribute ModelName: run 'modelship setup-namespace'/); // the only one the query names
  });

  it('setup-namespace adds every search attribute over mTLS; a second run changes nothing', async () => {
    const first = await runCli(['setup-namespace', '--json'], env);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const added = JSON.parse(first.stdout) as { namespace: string; added: Array<{ name: string; type: string }>; alreadyPresent: unknown[] };
    assert.equal(added.namespace, 'modelship');
    assert.deepEqual(added.added.map((a) => a.name).sort(), ATTRIBUTE_NAMES);
    assert.deepEqual(added.alreadyPresent, []);
    assert.deepEqual(added.added.find((a) => a.name === 'CanaryWeight'), { name: 'CanaryWeight', type: 'Int' });

    const second = await runCli(['setup-namespace'], env);
    assert.equal(second.code, 0, second.stderr + second.stdout);
    assert.doesNotMatch(second.stdout, /^added /m);
    for (const name of ATTRIBUTE_NAMES) assert.match(second.stdout, new RegExp(`^already present: ${name} \\((Keyword|Int)\\)$`, 'm'));
    assert.match(second.stdout, /nothing changed/);
  });

  it('a release without canary completes on the cluster, through a worker process', async () => {
    worker = spawnWorker(env);
    const keys = await runCli(['keys', 'generate'], env);
    assert.equal(keys.code, 0, keys.stderr);
    const r = await runCli(['release', SAMPLE, '--name', 'sample-mlp', '--version', '1.0.0', '--no-canary'], env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    for (const stage of ['export', 'hash', 'sign', 'attest', 'smoke']) assert.match(r.stdout, new RegExp(`ok +${stage} `));
    assert.match(r.stdout, /namespaces\/modelship\/workflows\/release-sample-mlp-1\.0\.0\//);
    const status = JSON.parse((await runCli(['status', 'release-sample-mlp-1.0.0', '--json'], env)).stdout) as { attributes: { ReleaseStage: string } };
    assert.equal(status.attributes.ReleaseStage, 'released');
  });

  it('list filters by model, stage and verdict on SQL visibility', async () => {
    const list = async (...args: string[]) => {
      const r = await runCli(['list', '--json', ...args], env);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      return JSON.parse(r.stdout) as ListJson;
    };
    const all = await list();
    assert.deepEqual(all.releases.map((r) => r.releaseId), ['release-sample-mlp-1.0.0']);
    const release = all.releases[0]!;
    assert.equal(release.workflowStatus, 'COMPLETED');
    assert.equal(release.stage, 'released');
    assert.ok(release.verdict, 'the release has a Verdict');

    assert.equal((await list('--model', 'sample-mlp')).releases.length, 1);
    assert.equal((await list('--model', 'other-model')).releases.length, 0);
    assert.equal((await list('--stage', 'released')).releases.length, 1);
    assert.equal((await list('--stage', 'failed')).releases.length, 0);
    assert.equal((await list('--verdict', release.verdict!)).releases.length, 1);
    assert.equal((await list('--verdict', release.verdict === 'failed' ? 'pass' : 'failed')).releases.length, 0);
    assert.equal((await list('--model', 'sample-mlp', '--stage', 'released', '--verdict', release.verdict!, '--limit', '1')).releases.length, 1);
  });

  it('a batch passing its halt threshold halts on the cluster: later waves never start', async () => {
    await writeFile(join(dir, 'a.onnx'), await readFile(SAMPLE));
    await writeFile(join(dir, 'corrupt.onnx'), (await readFile(SAMPLE)).subarray(0, 800));
    const file = join(dir, 'halting.json');
    const models = [
      { name: 'batch-bad', version: '1.0.0', path: 'corrupt.onnx' },
      { name: 'batch-ok', version: '1.0.0', path: 'a.onnx' },
      { name: 'batch-later-1', version: '1.0.0', path: 'a.onnx' },
      { name: 'batch-later-2', version: '1.0.0', path: 'a.onnx' },
    ];
    await writeFile(file, JSON.stringify({ signingKeyPath: join(dir, 'keys', 'release.key.pem'), waveSize: 2, concurrency: 2, halt: { maxFailures: 0 }, defaults: { canary: false }, models }));
    const r = await runCli(['batch', 'start', file, '--id', 'halting', '--wait'], env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /failed +release-batch-bad-1\.0\.0 +wave 1 +release .* failed at export/);
    const status = await runCli(['batch', 'status', 'halting', '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    const json = JSON.parse(status.stdout) as { workflowStatus: string; stage: string; status: { state: string; halted?: { reason: string }; entries: Array<{ name: string; reason?: string }> } };
    assert.equal(json.status.state, 'halted');
    assert.equal(json.stage, 'halted'); // BatchStage, on SQL visibility
    assert.match(json.status.halted?.reason ?? '', /1 failed or rolled back, more than the 0 allowed \(halt\.maxFailures\)/);
    const later = json.status.entries.filter((x) => x.name.startsWith('batch-later'));
    assert.equal(later.length, 2);
    for (const e of later) assert.match(e.reason ?? '', /batch halted before it started/);
    // The releases it started carry BatchId; list sees the failed one by its Verdict.
    const failed = JSON.parse((await runCli(['list', '--json', '--verdict', 'failed'], env)).stdout) as ListJson;
    assert.deepEqual(failed.releases.map((x) => x.releaseId), ['release-batch-bad-1.0.0']);
  });

  it('stop.sh stops the server, then PostgreSQL; a second stop finds nothing running', async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await once(worker, 'exit');
    }
    const pid = Number((await readFile(join(cluster.dataDir, 'server.pid'), 'utf8')).trim());
    const out = await runClusterScript('stop.sh', ['--data-dir', cluster.dataDir]);
    assert.match(out, new RegExp(`Temporal cluster server stopped \\(pid ${pid}, `));
    assert.match(out, /PostgreSQL stopped/);
    assert.equal(running(pid), false, `server pid ${pid} still runs`);
    const again = await runClusterScript('stop.sh', ['--data-dir', cluster.dataDir]);
    assert.match(again, /Temporal cluster server not running/);
    assert.match(again, /PostgreSQL not running/);
  });
});
