import { Client, Connection, type ClientPlugin, type ConnectionOptions } from '@temporalio/client';
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
  close(): Promise<void>;
}

/** `plugins`: e.g. OpenTelemetry's, from a traced command (src/tracing/cli-trace.ts). */
export async function connectClient(plugins: ClientPlugin[] = []): Promise<ConnectedClient> {
  const settings = loadTemporalSettings();
  let connection: Connection;
  try {
    connection = await Connection.connect(settings.connectionOptions as ConnectionOptions);
  } catch (err) {
    throw new CliError(
      `cannot reach Temporal at ${settings.connectionOptions.address}: ${(err as Error).message}\n` +
        `start the local dev server with 'npm run temporal:start', or set TEMPORAL_ADDRESS / a Temporal profile`,
    );
  }
  const untraced = new Client({ connection, namespace: settings.namespace });
  const client = plugins.length ? new Client({ connection, namespace: settings.namespace, plugins }) : untraced;
  return { client, untraced, settings, close: () => connection.close() };
}
