// The payload codec (AES-256-GCM, key ids, rotation), its key configuration and the codec
// server over real HTTP. The release through a dev server is in codec-release.test.ts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { EncryptionCodec, NoKeysCodec, ENCODING_ENCRYPTED, METADATA_KEY_ID } from '../src/codec/encryption-codec.js';
import { keyringFromEnvironment, makeKeyring, type CodecKeyring } from '../src/codec/keys.js';
import { CodecConfigError, CodecDecryptError, CodecKeysMissingError, CodecKeyUnknownError } from '../src/errors/index.js';
import { startCodecServer, type CodecServer } from '../src/codec/codec-server.js';
import { createLogger } from '../src/logger.js';
import { decodeEncryptedPayloads } from '../src/codec/history.js';
import { hashProgressOf } from '../src/cli/progress.js';

const K1 = randomBytes(32);
const K2 = randomBytes(32);
const ring = (current: string, keys: Record<string, Buffer>): CodecKeyring => ({ currentKeyId: current, keys: new Map(Object.entries(keys)) });
const text = (p: Payload, key: string) => Buffer.from(p.metadata?.[key] ?? []).toString('utf8');
const SECRET = { model: 'sample-mlp', note: 'plaintext-marker-42' };

describe('EncryptionCodec', () => {
  it('round-trips a payload; the encoded one carries the encoding and key id and no plaintext', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1: K1 }));
    const plain = defaultPayloadConverter.toPayload(SECRET);
    const [encoded] = await codec.encode([plain]);
    assert.equal(text(encoded!, 'encoding'), ENCODING_ENCRYPTED);
    assert.equal(text(encoded!, METADATA_KEY_ID), 'k1');
    assert.ok(!Buffer.from(encoded!.data!).includes('plaintext-marker-42'));
    assert.ok(!Buffer.from(encoded!.data!).includes('json/plain'), 'the original metadata is encrypted too');
    const [decoded] = await codec.decode([encoded!]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded!), SECRET);
    // A fresh IV each time: the same value never encrypts to the same bytes.
    const [again] = await codec.encode([plain]);
    assert.notDeepEqual(Buffer.from(again!.data!), Buffer.from(encoded!.data!));
  });

  it('passes unencrypted payloads through on decode (histories from before encryption)', async () => {
    const plain = defaultPayloadConverter.toPayload(SECRET);
    const [decoded] = await new EncryptionCodec(ring('k1', { k1: K1 })).decode([plain]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded!), SECRET);
  });

  it('rotation: the new key encrypts, the old key still decrypts', async () => {
    const before = new EncryptionCodec(ring('k1', { k1: K1 }));
    const rotated = new EncryptionCodec(ring('k2', { k2: K2, k1: K1 }));
    const [old] = await before.encode([defaultPayloadConverter.toPayload(SECRET)]);
    const [fresh] = await rotated.encode([defaultPayloadConverter.toPayload(SECRET)]);
    assert.equal(text(fresh!, METADATA_KEY_ID), 'k2');
    const decoded = await rotated.decode([old!, fresh!]);
    for (const p of decoded) assert.deepEqual(defaultPayloadConverter.fromPayload(p), SECRET);
    // A process that only has the old key cannot read what the new one wrote, and says which key it lacks.
    await assert.rejects(before.decode([fresh!]), (err: unknown) => err instanceof CodecKeyUnknownError && err.keyId === 'k2' && /codec key k2/.test(err.message) && err.type === 'CodecKeyUnknownError');
  });

  it('a wrong key under the same id fails with CodecDecryptError naming the key id', async () => {
    const [encoded] = await new EncryptionCodec(ring('k1', { k1: K1 })).encode([defaultPayloadConverter.toPayload(SECRET)]);
    const wrong = new EncryptionCodec(ring('k1', { k1: K2 }));
    await assert.rejects(wrong.decode([encoded!]), (err: unknown) => err instanceof CodecDecryptError && err.keyId === 'k1' && /codec key k1/.test(err.message));
  });

  it('a payload relabelled with another key id fails instead of decrypting (the id is authenticated)', async () => {
    const both = new EncryptionCodec(ring('k1', { k1: K1, k2: K1 }));
    const [encoded] = await both.encode([defaultPayloadConverter.toPayload(SECRET)]);
    const relabelled = { ...encoded!, metadata: { ...encoded!.metadata, [METADATA_KEY_ID]: Buffer.from('k2') } };
    await assert.rejects(both.decode([relabelled]), (err: unknown) => err instanceof CodecDecryptError && err.keyId === 'k2');
  });

  it('with no keys: plain payloads pass through, an encrypted one fails naming its key id', async () => {
    const none = new NoKeysCodec();
    const plain = defaultPayloadConverter.toPayload(SECRET);
    assert.deepEqual(await none.encode([plain]), [plain]);
    const [encoded] = await new EncryptionCodec(ring('prod-2026', { 'prod-2026': K1 })).encode([plain]);
    await assert.rejects(none.decode([encoded!]), (err: unknown) => err instanceof CodecKeysMissingError && err.keyId === 'prod-2026' && /MODELSHIP_CODEC_KEYS_FILE/.test(err.message));
  });
});

describe('decoding what the CLI fetches raw', () => {
  it('hash progress reads encrypted heartbeat details once decoded (modelship release --follow)', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1: K1 }));
    const [details] = await codec.encode([defaultPayloadConverter.toPayload({ bytesDone: 512, bytesTotal: 1024 })]);
    const description = { raw: { pendingActivities: [{ activityType: { name: 'hashBundle' }, heartbeatDetails: { payloads: [details!] } }] } };
    assert.equal(hashProgressOf(description as never), undefined, 'ciphertext is not progress');
    const decoded = await decodeEncryptedPayloads(description, codec);
    assert.deepEqual(hashProgressOf(decoded as never), { bytesDone: 512, bytesTotal: 1024 });
    assert.equal(decoded, description, 'decoded in place');
    const fresh = { raw: { pendingActivities: [{ activityType: { name: 'hashBundle' }, heartbeatDetails: { payloads: [details!] } }] } };
    await assert.rejects(decodeEncryptedPayloads(fresh, new NoKeysCodec()), (err: unknown) => err instanceof CodecKeysMissingError && err.keyId === 'k1');
  });
});

describe('codec key configuration', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelship-codec-keys-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a keys file (base64 and hex), with its current key', async () => {
    const file = join(dir, 'keys.json');
    await writeFile(file, JSON.stringify({ current: 'k2', keys: { k1: K1.toString('hex'), k2: K2.toString('base64') } }));
    const keyring = await keyringFromEnvironment({ MODELSHIP_CODEC_KEYS_FILE: file });
    assert.equal(keyring?.currentKeyId, 'k2');
    assert.deepEqual(keyring?.keys.get('k1'), K1);
    assert.deepEqual(keyring?.keys.get('k2'), K2);
  });

  it('reads MODELSHIP_CODEC_KEYS (first encrypts unless MODELSHIP_CODEC_KEY_ID), and nothing configured is undefined', async () => {
    const inline = `k2=${K2.toString('base64')},k1=${K1.toString('hex')}`;
    assert.equal((await keyringFromEnvironment({ MODELSHIP_CODEC_KEYS: inline }))?.currentKeyId, 'k2');
    assert.equal((await keyringFromEnvironment({ MODELSHIP_CODEC_KEYS: inline, MODELSHIP_CODEC_KEY_ID: 'k1' }))?.currentKeyId, 'k1');
    assert.equal(await keyringFromEnvironment({}), undefined);
  });

  it('refuses bad configuration with CodecConfigError naming the key id, never echoing key bytes', async () => {
    const short = randomBytes(16).toString('base64');
    assert.throws(() => makeKeyring([['k1', short]], undefined, 'test'), (err: unknown) => err instanceof CodecConfigError && /key k1 is not 32 bytes/.test(err.message) && !err.message.includes(short));
    assert.throws(() => makeKeyring([['k1', K1.toString('hex')]], 'k9', 'test'), /current key k9 is not among the listed keys \(k1\)/);
    assert.throws(() => makeKeyring([['bad id', K1.toString('hex')]], undefined, 'test'), /key id "bad id" is not valid/);
    await assert.rejects(keyringFromEnvironment({ MODELSHIP_CODEC_KEYS_FILE: join(dir, 'missing.json') }), (err: unknown) => err instanceof CodecConfigError && /ENOENT/.test(err.message));
    await assert.rejects(keyringFromEnvironment({ MODELSHIP_CODEC_KEYS_FILE: join(dir, 'x'), MODELSHIP_CODEC_KEYS: 'a=b' }), /keep one/);
  });
});

describe('codec server over HTTP', () => {
  const UI = 'http://localhost:8233';
  const TOKEN = randomBytes(16).toString('hex');
  const codec = new EncryptionCodec(ring('k1', { k1: K1 }));
  let server: CodecServer;
  before(async () => {
    server = await startCodecServer({ codec, token: TOKEN, uiOrigins: [UI], logger: createLogger('codec-server-test', { level: 'error' }) });
  });
  after(async () => {
    await server?.close();
  });

  const toJson = (p: Payload) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(p.data ?? []).toString('base64'),
  });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('answers the Web UI preflight with CORS for its origin, without auth', async () => {
    const res = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: UI, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace,authorization' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), UI);
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const h of ['content-type', 'x-namespace', 'authorization']) assert.ok(allowed.includes(h), `${h} allowed`);
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
  });

  it('refuses another origin', async () => {
    const res = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' } });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });

  it('answers 401 without a token or with a wrong one', async () => {
    const [encoded] = await codec.encode([defaultPayloadConverter.toPayload(SECRET)]);
    const body = { payloads: [toJson(encoded!)] };
    assert.equal((await post('/decode', body, { Origin: UI })).status, 401);
    const wrong = await post('/decode', body, { Origin: UI, Authorization: `Bearer ${TOKEN}x` });
    assert.equal(wrong.status, 401);
    assert.ok(!(await wrong.text()).includes('plaintext-marker-42'));
  });

  it('decodes to plaintext with the token (under any path prefix, X-Namespace sent as the UI does)', async () => {
    const [encoded] = await codec.encode([defaultPayloadConverter.toPayload(SECRET)]);
    const res = await post('/default/decode', { payloads: [toJson(encoded!)] }, { Origin: UI, Authorization: `Bearer ${TOKEN}`, 'X-Namespace': 'default' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), UI);
    const { payloads } = (await res.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
    assert.equal(Buffer.from(payloads[0]!.metadata.encoding!, 'base64').toString(), 'json/plain');
    assert.deepEqual(JSON.parse(Buffer.from(payloads[0]!.data, 'base64').toString()), SECRET);
  });

  it('encodes, and a decode with an unknown key id is a 400 naming the key', async () => {
    const res = await post('/encode', { payloads: [toJson(defaultPayloadConverter.toPayload(SECRET))] }, { Authorization: `Bearer ${TOKEN}` });
    assert.equal(res.status, 200);
    const { payloads } = (await res.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
    assert.equal(Buffer.from(payloads[0]!.metadata[METADATA_KEY_ID]!, 'base64').toString(), 'k1');
    const [other] = await new EncryptionCodec(ring('k7', { k7: K2 })).encode([defaultPayloadConverter.toPayload(SECRET)]);
    const refused = await post('/decode', { payloads: [toJson(other!)] }, { Authorization: `Bearer ${TOKEN}` });
    assert.equal(refused.status, 400);
    const body = (await refused.json()) as { error: string; type: string };
    assert.equal(body.type, 'CodecKeyUnknownError');
    assert.match(body.error, /codec key k7/);
    assert.equal((await post('/decode', { nope: 1 }, { Authorization: `Bearer ${TOKEN}` })).status, 400);
  });
});
