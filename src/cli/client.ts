import { Client, Connection, type ClientPlugin, type ConnectionOptions } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { codecFromEnvironment, dataConverterWith } from '../codec/config.js';
import { loadTemporalSettings, type TemporalSettings } from '../temporal-config.js';
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
    throw new CliError(
      `cannot reach Temporal at ${settings.connectionOptions.address}: ${(err as Error).message}\n` +
        `start the local dev server with 'npm run temporal:start', or set TEMPORAL_ADDRESS / a Temporal profile`,
    );
  }
  const untraced = new Client({ connection, namespace: settings.namespace, dataConverter });
  const client = plugins.length ? new Client({ connection, namespace: settings.namespace, dataConverter, plugins }) : untraced;
  return { client, untraced, settings, codec, close: () => connection.close() };
}
