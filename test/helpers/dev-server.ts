// Start/stop a throwaway Temporal dev server for integration tests, through
// the same temporal/start.sh and stop.sh that developers use, so the tests
// exercise the real scripts (search attributes, persistence, pidfiles).
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DevServer {
  /** gRPC address for Connection.connect, e.g. "127.0.0.1:41234". */
  address: string;
  namespace: string;
  /** Web UI URL; nothing listens there when started headless (the test default). */
  uiUrl: string;
  /** Holds temporal.db, server.log, server.pid. */
  dataDir: string;
  /** Stops the server; safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartDevServerOptions {
  /**
   * Reuse this directory (and its temporal.db) so state survives a restart.
   * Without it a fresh temp dir is used and removed again by stop().
   */
  dataDir?: string;
  /** Skip the Web UI. Default true: tests don't need it and it is one less port. */
  headless?: boolean;
  /** The Web UI decodes payloads through this codec server (start.sh --ui-codec-endpoint). */
  uiCodecEndpoint?: string;
}

const NAMESPACE = 'default';

/**
 * The modelship checkout: the first folder at or above this file holding both
 * package.json and temporal/ (the compiled file lives in dist/test/helpers/).
 * Falls back to searching from the cwd, for builds emitted outside the tree.
 */
export function projectRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = findRoot(here) ?? findRoot(process.cwd());
  if (!root) throw new Error(`cannot find the modelship root (package.json + temporal/) above ${here} or ${process.cwd()}`);
  return root;
}

function findRoot(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && isDir(join(dir, 'temporal'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export async function startDevServer(options: StartDevServerOptions = {}): Promise<DevServer> {
  // Lets a developer point the tests at a server they already run.
  const external = process.env.MODELSHIP_TEST_TEMPORAL_ADDRESS;
  if (external) {
    return { address: external, namespace: NAMESPACE, uiUrl: '', dataDir: '', stop: async () => {} };
  }

  const headless = options.headless ?? true;
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'modelship-temporal-')));
  // Random ports so tests never collide with each other or a developer's 7233/8233.
  const [port, uiPort] = await freePorts(2);

  const args = ['--port', String(port), '--ui-port', String(uiPort), '--data-dir', dataDir];
  if (headless) args.push('--headless');
  if (options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  try {
    await runScript('start.sh', args);
  } catch (err) {
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  // start.sh is idempotent: if a server was already running on this data dir
  // it kept its own ports, so trust what it recorded over what we asked for.
  const [address, ui] = await recordedAddress(dataDir);

  let stopped: Promise<void> | undefined;
  return {
    address: address ?? `127.0.0.1:${port}`,
    namespace: NAMESPACE,
    uiUrl: ui && ui !== 'disabled' ? ui : `http://localhost:${uiPort}`,
    dataDir,
    stop() {
      stopped ??= (async () => {
        await runScript('stop.sh', ['--data-dir', dataDir]);
        if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

async function recordedAddress(dataDir: string): Promise<[string | undefined, string | undefined]> {
  try {
    const [address, ui] = (await readFile(join(dataDir, 'server.address'), 'utf8')).split('\n');
    return [address?.trim() || undefined, ui?.trim() || undefined];
  } catch {
    return [undefined, undefined];
  }
}

/**
 * Ask the OS for n distinct free ports. All listeners stay open until every
 * port is chosen so we never get the same port twice; another process could
 * still grab one before the server binds it, which start.sh reports clearly.
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<Server>((resolvePort, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolvePort(server));
      }),
    ),
  );
  const ports = servers.map((s) => {
    const addr = s.address();
    if (addr === null || typeof addr === 'string') throw new Error('unexpected listener address');
    return addr.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((done) => s.close(() => done()))));
  return ports;
}

/** Run temporal/<script> with bash; resolve with stdout, reject with its stderr. */
function runScript(script: string, args: string[]): Promise<string> {
  const root = projectRoot();
  return new Promise((resolveRun, reject) => {
    const child = spawn('bash', [join(root, 'temporal', script), ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolveRun(stdout);
      else reject(new Error(`temporal/${script} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${stderr}${stdout}`));
    });
  });
}
