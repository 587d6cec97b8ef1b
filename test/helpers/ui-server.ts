// The Temporal Web UI for a real cluster: the real server ships no UI (the dev server bundles
// one), so temporal/cluster/install.sh builds temporalio/ui-server, pinned to the UI version the
// temporal CLI bundles, and this starts it against a cluster over mTLS, with or without a codec
// endpoint, on a free port, in its own config dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../../src/paths.js';
import { freePorts } from './dev-server.js';

/** Where temporal/cluster/install.sh puts it; MODELSHIP_TEMPORAL_UI_SERVER overrides. */
export function uiServerBin(): string {
  return process.env.MODELSHIP_TEMPORAL_UI_SERVER || join(PROJECT_ROOT, '.modelship', 'tools', 'temporal-ui-server');
}

export function uiServerSkipReason(): string | undefined {
  return existsSync(uiServerBin()) ? undefined : `the Temporal UI server is not built (${uiServerBin()}): run bash temporal/cluster/install.sh (go install github.com/temporalio/ui-server/v2/cmd/server)`;
}

export interface UiServer {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startUiServer(cluster: { address: string; namespace: string; certs: { cert: string; key: string; ca: string } }, options: { codecEndpoint?: string } = {}): Promise<UiServer> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-ui-server-'));
  const [port] = await freePorts(1);
  const config = {
    temporalGrpcAddress: cluster.address,
    host: '127.0.0.1',
    port,
    enableUi: true,
    defaultNamespace: cluster.namespace,
    disableNewsFetch: true,
    cors: { cookieInsecure: true, allowOrigins: [] },
    tls: { caFile: cluster.certs.ca, certFile: cluster.certs.cert, keyFile: cluster.certs.key, serverName: 'localhost', enableHostVerification: true },
    codec: { endpoint: options.codecEndpoint ?? '', passAccessToken: false },
  };
  await writeFile(join(dir, 'cluster.yaml'), JSON.stringify(config)); // JSON is YAML
  let log = '';
  const child: ChildProcess = spawn(uiServerBin(), ['--root', dir, '--config', '.', '--env', 'cluster', 'start'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([once(child, 'exit'), sleep(5_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) break;
    const ok = await fetch(`${url}/api/v1/settings`).then((r) => r.ok, () => false);
    if (ok) return { url, stop };
    await sleep(100);
  }
  await stop();
  throw new Error(`the Temporal UI server did not start at ${url}:\n${log}`);
}
