// Integration test for the local Temporal tooling in temporal/: the CLI
// resolver, search-attribute registration, and SQLite persistence across a
// server restart. Runs real dev servers on random ports.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { projectRoot, startDevServer, type DevServer, type StartDevServerOptions } from './helpers/dev-server.js';

// temporal.api.enums.v1.IndexedValueType values (the proto enums live in
// @temporalio/proto, which is not a direct dependency).
const KEYWORD = 2;
const INT = 3;
// Spelled out rather than read from temporal/search-attributes.txt: this is
// the contract the workflows rely on, so the file must not drift from it.
const SEARCH_ATTRIBUTES: Record<string, number> = {
  ModelName: KEYWORD,
  ModelVersion: KEYWORD,
  ModelDigest: KEYWORD,
  ModelReference: KEYWORD,
  ReleaseStage: KEYWORD,
  CanaryWeight: INT,
  Verdict: KEYWORD,
  BatchId: KEYWORD,
  BatchStage: KEYWORD,
};
const usingExternalServer = Boolean(process.env.MODELSHIP_TEST_TEMPORAL_ADDRESS);

test('temporal/install.sh prints one absolute, executable path on stdout', () => {
  const result = spawnSync('bash', [join(projectRoot(), 'temporal', 'install.sh')], { encoding: 'utf8' });
  assert.equal(result.status, 0, `install.sh failed:\n${result.stderr}`);
  assert.match(result.stdout, /^[^\n]+\n$/, `expected exactly one line on stdout, got ${JSON.stringify(result.stdout)}`);
  const bin = result.stdout.trim();
  assert.ok(isAbsolute(bin), `not absolute: ${bin}`);
  accessSync(bin, constants.X_OK); // throws if missing or not executable
});

describe('Temporal dev server via temporal/start.sh', () => {
  const servers: DevServer[] = [];
  const connections: Connection[] = [];
  const tempDirs: string[] = [];

  // Runs even when a test fails, so no dev server outlives the test process.
  after(async () => {
    await Promise.allSettled(connections.map((c) => c.close()));
    const stopped = await Promise.allSettled(servers.map((s) => s.stop()));
    await Promise.allSettled(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
    for (const r of stopped) if (r.status === 'rejected') throw r.reason;
  });

  async function start(options?: StartDevServerOptions): Promise<DevServer> {
    const server = await startDevServer(options);
    servers.push(server);
    return server;
  }

  async function connect(server: DevServer): Promise<Client> {
    const connection = await Connection.connect({ address: server.address });
    connections.push(connection);
    return new Client({ connection, namespace: server.namespace });
  }

  test('registers the custom search attributes with their types', async () => {
    const server = await start();
    const client = await connect(server);
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({
      namespace: server.namespace,
    });
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
      assert.equal(customAttributes?.[name], type, `${name} should be registered as ${type === INT ? 'Int' : 'Keyword'}`);
    }
    await server.stop();
  });

  test(
    'a running workflow survives a server restart on the same data dir, and an old database gets new search attributes',
    { skip: usingExternalServer && 'MODELSHIP_TEST_TEMPORAL_ADDRESS is set; not restarting an external server' },
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'modelship-persist-'));
      tempDirs.push(dataDir);
      const workflowId = `persist-${randomUUID()}`;

      // No worker polls probe-queue, so the execution just sits in RUNNING.
      const first = await start({ dataDir });
      const firstClient = await connect(first);
      await firstClient.workflow.start('PersistenceProbe', { taskQueue: 'probe-queue', workflowId });
      // As if the database were made by an older modelship, before this attribute existed.
      await firstClient.connection.operatorService.removeSearchAttributes({ namespace: first.namespace, searchAttributes: ['Verdict'] });
      const before = await firstClient.connection.operatorService.listSearchAttributes({ namespace: first.namespace });
      assert.equal(before.customAttributes?.Verdict, undefined);
      await first.stop();

      // A new process (new ports) that only shares temporal.db with the first.
      const second = await start({ dataDir });
      const client = await connect(second);
      const handle = client.workflow.getHandle(workflowId);
      const description = await handle.describe();
      assert.equal(description.type, 'PersistenceProbe');
      const after = await client.connection.operatorService.listSearchAttributes({ namespace: second.namespace });
      assert.equal(after.customAttributes?.Verdict, SEARCH_ATTRIBUTES.Verdict, 'start.sh registered the attribute the old database lacked');
      assert.equal(description.status.name, 'RUNNING');

      await handle.terminate('devserver test cleanup');
      assert.equal((await handle.describe()).status.name, 'TERMINATED');
      await second.stop();
    },
  );
});
