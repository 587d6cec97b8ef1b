import { Client, Connection, type ClientPlugin, type ConnectionOptions } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { codecFromEnvironment, dataConverterWith } from '../codec/config.js';
import { DEFAULT_ADDRESS, loadTemporalSettings, type TemporalSettings } from '../temporal-config.js';
import { CliError } from './output.js';

export interface ConnectedClient {
  readonly client: Client;
  /**
   * The same connection without plugins: for polling (status queries, describes) that would
   * otherwise put a span per poll into the command's trace. `client` itself when untraced.
   */
  readonly untraced: Client;
  readonly settings: TemporalSettings;
  /** The payload codec both clients use (src/codec); also for decoding fetched histories. */
  readonly codec: PayloadCodec;
  close(): Promise<void>;
}

/** `plugins`: e.g. OpenTelemetry's, from a traced command (src/tracing/cli-trace.ts). */
export async function connectClient(plugins: ClientPlugin[] = []): Promise<ConnectedClient> {
  const settings = loadTemporalSettings();
  // Keys are read before connecting: a broken key setup is reported as itself.
  const { codec } = await codecFromEnvironment();
  const dataConverter = dataConverterWith(codec);
  let connection: Connection;
  try {
    connection = await Connection.connect(settings.connectionOptions as ConnectionOptions);
  } catch (err) {
    throw new CliError(`cannot reach Temporal at ${settings.connectionOptions.address}: ${(err as Error).message}\n${connectHint(settings)}`);
  }
  const untraced = new Client({ connection, namespace: settings.namespace, dataConverter });
  const client = plugins.length ? new Client({ connection, namespace: settings.namespace, dataConverter, plugins }) : untraced;
  return { client, untraced, settings, codec, close: () => connection.close() };
}

/** What to check when the connection failed: the dev server when nothing is configured, else the address and the TLS settings. */
export function connectHint(settings: Pick<TemporalSettings, 'connectionOptions'>): string {
  const { address, tls, apiKey } = settings.connectionOptions as ConnectionOptions;
  if (address === DEFAULT_ADDRESS && !tls && !apiKey) return `start the local dev server with 'npm run temporal:start', or set TEMPORAL_ADDRESS / a Temporal profile`;
  const clientCert = typeof tls === 'object' && tls !== null && tls.clientCertPair !== undefined;
  if (apiKey || clientCert) return `check TEMPORAL_ADDRESS, that the server is up, and that it accepts this ${apiKey ? 'API key' : 'client certificate'} and its CA (TEMPORAL_TLS_SERVER_CA_CERT_PATH)`;
  return (
    `check TEMPORAL_ADDRESS and that the server is up; a cluster with mTLS needs a client certificate: TEMPORAL_TLS_CLIENT_CERT_PATH, ` +
    `TEMPORAL_TLS_CLIENT_KEY_PATH and TEMPORAL_TLS_SERVER_CA_CERT_PATH (temporal/cluster/start.sh --env prints them for the local cluster)`
  );
}
