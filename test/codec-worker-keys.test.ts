// A worker that cannot decrypt a release's payloads (no keys, or the wrong key under the same
// id) does not run it: its workflow task fails, and the failure Temporal records names the key id.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { PayloadCodec } from '@temporalio/common';
import { EncryptionCodec, NoKeysCodec } from '../src/codec/encryption-codec.js';
import { RELEASE_WORKFLOW_TYPE } from '../src/workflow-definitions.js';
import { releaseStartOptions } from '../src/release/start-metadata.js';
import { startDevServer, type DevServer } from './helpers/dev-server.js';
import { startReleaseEnv } from './helpers/release-env.js';
import { SAMPLE_MODEL } from './helpers/fixtures.js';
import { firstWorkflowTaskFailure } from './helpers/history.js';

const KEY_ID = 'prod-2026-12';
const writer = new EncryptionCodec({ currentKeyId: KEY_ID, keys: new Map([[KEY_ID, randomBytes(32)]]) });

describe('a worker without the right codec key', () => {
  let server: DevServer;
  let connection: Connection;
  before(async () => {
    server = await startDevServer();
    connection = await Connection.connect({ address: server.address });
  });
  after(async () => {
    await connection?.close();
    await server?.stop();
  });

  const cases: Array<[string, PayloadCodec, RegExp]> = [
    ['no keys', new NoKeysCodec(), new RegExp(`encrypted with codec key ${KEY_ID}, but this process has no codec keys`)],
    ['the wrong key under the same id', new EncryptionCodec({ currentKeyId: KEY_ID, keys: new Map([[KEY_ID, randomBytes(32)]]) }), new RegExp(`does not decrypt with the key configured as ${KEY_ID}`)],
  ];
  for (const [name, workerCodec, expected] of cases) {
    it(`fails the workflow task naming the key id (${name}), and runs nothing`, async () => {
      const env = await startReleaseEnv({ server, payloadCodec: workerCodec });
      try {
        const client = new Client({ connection, namespace: server.namespace, dataConverter: { payloadCodecs: [writer] } });
        const request = env.request({ source: { kind: 'onnx', path: SAMPLE_MODEL } });
        const handle = await client.workflow.start(RELEASE_WORKFLOW_TYPE, { taskQueue: env.taskQueue, ...releaseStartOptions(request) });
        assert.match(await firstWorkflowTaskFailure(client, handle.workflowId), expected);
        const history = JSON.parse(historyToJSON(await handle.fetchHistory())) as { events: Array<{ eventType: string }> };
        assert.ok(!history.events.some((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED'), 'no stage ran');
        await handle.terminate('test over');
      } finally {
        await env.stop();
      }
    });
  }
});
