// A throwaway real Temporal cluster (PostgreSQL, SQL visibility, mTLS, the modelship namespace)
// for integration tests, through the same temporal/cluster/start.sh and stop.sh developers use.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';
import { freePorts } from './dev-server.js';

export const CLUSTER_SERVER_BIN = join(PROJECT_ROOT, '.modelship', 'tools', 'temporal-server');
export const CLUSTER_SQL_TOOL = join(PROJECT_ROOT, '.modelship', 'tools', 'temporal-sql-tool');

/** Why the cluster tests cannot run here, or undefined when they can (the project's skip-with-a-reason convention for built tools). */
export function clusterSkipReason(): string | undefined {
  if (!existsSync(CLUSTER_SERVER_BIN) || !existsSync(CLUSTER_SQL_TOOL)) {
    return `the Temporal server is not built (${CLUSTER_SERVER_BIN}): run bash temporal/cluster/install.sh (go install, about 5 minutes), or scripts/setup.sh`;
  }
  const pg = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').filter((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', 'initdb'))) : [];
  if (!pg.length) return 'PostgreSQL is not installed: sudo apt-get install postgresql (or run temporal/cluster/install.sh as root)';
  return undefined;
}

export interface Cluster {
  readonly address: string;
  readonly namespace: string;
  readonly dataDir: string;
  readonly certs: { readonly cert: string; readonly key: string; readonly ca: string };
  /** The TEMPORAL_* variables a worker or the CLI connects with: address, namespace, mTLS. */
  readonly env: NodeJS.ProcessEnv;
  /** What start.sh printed. */
  readonly startOutput: string;
  /** temporal/cluster/start.sh again with the same arguments. */
  restart(): Promise<string>;
  stop(): Promise<void>;
}

export function runClusterScript(script: 'start.sh' | 'stop.sh', args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(PROJECT_ROOT, 'temporal', 'cluster', script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`temporal/cluster/${script} ${args.join(' ')} exited ${code}:\n${err}${out}`))));
  });
}

/** n consecutive free ports on 127.0.0.1 (the cluster's internal ports are a range). */
export async function freePortRange(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below 32767 - n: the server keeps membership ports in a PostgreSQL smallint.
    const base = 20_000 + Math.floor(Math.random() * (32_767 - 20_000 - n));
    const servers: Server[] = [];
    let ok = true;
    for (let port = base; port < base + n && ok; port++) {
      const server = createServer();
      ok = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (ok) servers.push(server);
    }
    await Promise.all(servers.map((s) => new Promise<void>((done) => s.close(() => done()))));
    if (ok) return base;
  }
  throw new Error(`no ${n} consecutive free ports found`);
}

export async function startCluster(options: { namespace?: string } = {}): Promise<Cluster> {
  const namespace = options.namespace ?? 'modelship';
  const dataDir = await mkdtemp(join(tmpdir(), 'modelship-cluster-'));
  // PostgreSQL runs as the postgres user, which must reach its data dir inside this one.
  await chmod(dataDir, 0o755);
  const base = await freePortRange(10); // frontend, then history ... metrics
  const [pgPort] = await freePorts(1);
  const args = ['--port', String(base), '--internal-port-base', String(base + 1), '--pg-port', String(pgPort), '--data-dir', dataDir, '--namespace', namespace];
  let startOutput: string;
  try {
    startOutput = await runClusterScript('start.sh', args);
  } catch (err) {
    await runClusterScript('stop.sh', ['--data-dir', dataDir]).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const address = `127.0.0.1:${base}`;
  const certs = { cert: join(dataDir, 'certs', 'client.pem'), key: join(dataDir, 'certs', 'client.key'), ca: join(dataDir, 'certs', 'ca.pem') };
  let stopped: Promise<void> | undefined;
  return {
    address,
    namespace,
    dataDir,
    certs,
    startOutput,
    env: {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_CLIENT_CERT_PATH: certs.cert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: certs.key,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    },
    restart: () => runClusterScript('start.sh', args),
    stop() {
      stopped ??= (async () => {
        await runClusterScript('stop.sh', ['--data-dir', dataDir]);
        if (!process.env.MODELSHIP_TEST_KEEP_CLUSTER) await rm(dataDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
