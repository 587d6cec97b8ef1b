// A release on a real dev server with payload encryption: the worker and the client share the
// codec, the history the server stores holds only ciphertext (read with a client that has no
// codec), search attributes stay readable, and the CLI's history decoding reads it back.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { EncryptionCodec, NoKeysCodec, ENCODING_ENCRYPTED } from '../src/codec/encryption-codec.js';
import { CodecKeysMissingError, CodecKeyUnknownError } from '../src/errors/index.js';
import { decodeEncryptedPayloads } from '../src/codec/history.js';
import { buildReleaseReport } from '../src/report/release-report.js';
import { ModelName } from '../src/search-attributes.js';
import { startReleaseEnv, TEST_PASSPHRASE, type ReleaseEnv } from './helpers/release-env.js';
import { historyStrings, payloadsOf } from './helpers/history.js';
import { SAMPLE_MODEL } from './helpers/fixtures.js';

const K1 = randomBytes(32);
const K2 = randomBytes(32);
const codecK1 = new EncryptionCodec({ currentKeyId: 'k1', keys: new Map([['k1', K1]]) });

const b64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

describe('an encrypted release on a real Temporal dev server', () => {
  let env: ReleaseEnv;
  let plainClient: Client;
  let plainConnection: Connection;
  before(async () => {
    env = await startReleaseEnv({ payloadCodec: codecK1 });
    plainConnection = await Connection.connect({ address: env.server.address });
    plainClient = new Client({ connection: plainConnection, namespace: env.server.namespace });
  });
  after(async () => {
    await plainConnection?.close();
    await env?.stop();
  });

  it('completes, stores only ciphertext payloads, and keeps search attributes readable', async () => {
    const request = env.request({ source: { kind: 'onnx', path: SAMPLE_MODEL } });
    const handle = await env.start(request);
    const result = await handle.result();
    assert.equal(result.name, 'sample-mlp');
    assert.match(result.rootDigest, /^[0-9a-f]{64}$/);

    // What the server stores, read without the codec.
    const raw = await plainClient.workflow.getHandle(handle.workflowId).fetchHistory();
    const history = JSON.parse(historyToJSON(raw)) as unknown;
    const payloads = payloadsOf(history);
    const attributes = payloadsOf(history).filter((p) => /searchAttributes/.test(p.path));
    // patched() markers are written by the SDK's core and never pass through a codec; they hold
    // only the patch id and a flag, no user data: checked.
    const markers = payloads.filter((p) => /markerRecordedEventAttributes\.details\.patch-data/.test(p.path));
    for (const m of markers) assert.match(b64(m.payload.data), /^\{"id":"[^"]+","deprecated":(true|false)\}$/);
    const others = payloads.filter((p) => !/searchAttributes/.test(p.path) && !markers.includes(p));
    assert.ok(others.length >= 10, `expected the request, activity inputs and results as payloads, found ${others.length}`);
    const plaintext = others.filter((p) => b64(p.payload.metadata?.encoding) !== ENCODING_ENCRYPTED).map((p) => `${p.path}: ${b64(p.payload.metadata?.encoding)}`);
    assert.deepEqual(plaintext, [], 'every payload outside search attributes is encrypted');
    const stored = others.map((p) => b64(p.payload.data)).join('\n');
    for (const needle of [result.rootDigest, 'sample-mlp.onnx', request.signingKeyPath, result.kid]) assert.ok(!stored.includes(needle), `ciphertext must not contain ${needle}`);
    for (const p of others) assert.equal(b64(p.payload.metadata?.['encryption-key-id']), 'k1');
    // Search attributes are not payloads the codec sees: the UI and `list` still filter on them.
    assert.ok(attributes.some((p) => b64(p.payload.data).includes(request.name)), 'ModelName readable in the start event');
    assert.equal((await plainClient.workflow.getHandle(handle.workflowId).describe()).typedSearchAttributes.get(ModelName), request.name);

    // The client without the codec cannot read the result; the report path decodes with the codec.
    await assert.rejects(plainClient.workflow.getHandle(handle.workflowId).result());
    const decoded = await decodeEncryptedPayloads(raw, codecK1);
    const report = buildReleaseReport(decoded, handle.workflowId);
    assert.equal(report.outcome, 'released');
    assert.equal(report.request?.name, request.name);
    // No secrets in the decoded history either: no codec key, no signing-key passphrase.
    const decodedText = historyStrings(JSON.parse(historyToJSON(decoded))).join('\n');
    assert.ok(decodedText.includes('sample-mlp.onnx'), 'the decoded history is readable');
    for (const secret of [K1.toString('base64'), K1.toString('hex'), TEST_PASSPHRASE]) assert.ok(!decodedText.includes(secret), 'no secret in the decoded history');
  });

  it('after rotation the old history still decodes; a process without the key names it', async () => {
    const handle = await env.start(env.request({ source: { kind: 'onnx', path: SAMPLE_MODEL } }));
    await handle.result();
    const fetch = () => plainClient.workflow.getHandle(handle.workflowId).fetchHistory();
    const rotated = new EncryptionCodec({ currentKeyId: 'k2', keys: new Map([['k2', K2], ['k1', K1]]) });
    assert.equal(buildReleaseReport(await decodeEncryptedPayloads(await fetch(), rotated), handle.workflowId).outcome, 'released');
    const onlyNew = new EncryptionCodec({ currentKeyId: 'k2', keys: new Map([['k2', K2]]) });
    await assert.rejects(decodeEncryptedPayloads(await fetch(), onlyNew), (err: unknown) => err instanceof CodecKeyUnknownError && err.keyId === 'k1');
    await assert.rejects(decodeEncryptedPayloads(await fetch(), new NoKeysCodec()), (err: unknown) => err instanceof CodecKeysMissingError && err.keyId === 'k1');
  });
});
