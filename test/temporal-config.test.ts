// The connection options the CLI and the workers build from TEMPORAL_* variables (and the
// Temporal config file): the dev server when nothing is set, mTLS for a cluster, an API key for
// Temporal Cloud or a cluster with an authorizer. Read from the environment passed in.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from '@temporalio/client';
import { DEFAULT_ADDRESS, DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE, loadTemporalSettings } from '../src/temporal-config.js';
import { connectHint } from '../src/cli/client.js';

describe('Temporal connection settings', () => {
  let dir: string;
  let base: NodeJS.ProcessEnv;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelship-temporal-config-'));
    base = { HOME: dir, TEMPORAL_CONFIG_FILE: join(dir, 'no-such-temporal.toml') };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('nothing set: the local dev server, no TLS, no API key', () => {
    const s = loadTemporalSettings(base);
    assert.deepEqual(s.connectionOptions, { address: DEFAULT_ADDRESS });
    assert.deepEqual([s.namespace, s.taskQueue, s.uiUrl], [DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE, 'http://localhost:8233']);
  });

  it('TEMPORAL_API_KEY: the key in the connection options, TLS on (system CAs), a Cloud-style address', () => {
    const s = loadTemporalSettings({ ...base, TEMPORAL_ADDRESS: 'ns.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.a1b2c', TEMPORAL_API_KEY: 'an-api-key' });
    const options = s.connectionOptions as ConnectionOptions;
    assert.equal(options.address, 'ns.a1b2c.tmprl.cloud:7233');
    assert.equal(options.apiKey, 'an-api-key');
    assert.equal(options.tls, true);
    assert.equal(s.namespace, 'ns.a1b2c');
    assert.equal(s.uiUrl, 'https://ns.a1b2c.tmprl.cloud');
    assert.match(connectHint(s), /accepts this API key/);
  });

  it('TEMPORAL_API_KEY with TEMPORAL_TLS_SERVER_CA_CERT_PATH: the key and a private CA (a cluster with an authorizer)', async () => {
    const ca = join(dir, 'ca.pem');
    await writeFile(ca, '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n');
    const s = loadTemporalSettings({ ...base, TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_API_KEY: 'k', TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' });
    const options = s.connectionOptions as ConnectionOptions;
    assert.equal(options.apiKey, 'k');
    assert.ok(typeof options.tls === 'object' && options.tls !== null);
    assert.equal(options.tls.serverNameOverride, 'temporal.internal');
    assert.match(Buffer.from(options.tls.serverRootCACertificate ?? []).toString(), /not checked here/);
    assert.equal(options.tls.clientCertPair, undefined, 'no client certificate: the API key authenticates');
  });

  it('mTLS variables: the client certificate pair and the CA, no API key', async () => {
    const [cert, key, ca] = ['client.pem', 'client.key', 'ca.pem'].map((f) => join(dir, f)) as [string, string, string];
    await writeFile(cert, 'CERT');
    await writeFile(key, 'KEY');
    await writeFile(ca, 'CA');
    const s = loadTemporalSettings({ ...base, TEMPORAL_ADDRESS: '127.0.0.1:7933', TEMPORAL_NAMESPACE: 'modelship', TEMPORAL_TLS: 'true', TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_PATH: key, TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca, TEMPORAL_TLS_SERVER_NAME: 'localhost' });
    const options = s.connectionOptions as ConnectionOptions;
    assert.equal(options.apiKey, undefined);
    assert.ok(typeof options.tls === 'object' && options.tls !== null);
    assert.deepEqual([options.tls.clientCertPair?.crt, options.tls.clientCertPair?.key, options.tls.serverRootCACertificate].map((b) => Buffer.from(b ?? []).toString()), ['CERT', 'KEY', 'CA']);
    assert.equal(s.namespace, 'modelship');
  });

  it('a profile in the config file gives the API key; TEMPORAL_API_KEY overrides it', async () => {
    const file = join(dir, 'temporal.toml');
    await writeFile(file, '[profile.prod]\naddress = "prod.example:7233"\nnamespace = "releases"\napi_key = "from-file"\n');
    const fromFile = loadTemporalSettings({ ...base, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' });
    assert.deepEqual([fromFile.connectionOptions.address, fromFile.namespace, (fromFile.connectionOptions as ConnectionOptions).apiKey], ['prod.example:7233', 'releases', 'from-file']);
    const overridden = loadTemporalSettings({ ...base, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod', TEMPORAL_API_KEY: 'from-env' });
    assert.equal((overridden.connectionOptions as ConnectionOptions).apiKey, 'from-env');
  });

  it('reads the environment it is given, not the process environment', () => {
    const saved = process.env.TEMPORAL_API_KEY;
    process.env.TEMPORAL_API_KEY = 'process-key';
    try {
      assert.equal((loadTemporalSettings(base).connectionOptions as ConnectionOptions).apiKey, undefined);
    } finally {
      if (saved === undefined) delete process.env.TEMPORAL_API_KEY;
      else process.env.TEMPORAL_API_KEY = saved;
    }
  });
});
