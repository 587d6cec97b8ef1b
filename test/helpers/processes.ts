// The CLI and the worker as separate processes, the way users run them.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

export const CLI_BIN = join(PROJECT_ROOT, 'bin', 'modelship.js');
export const WORKER_MAIN = join(PROJECT_ROOT, 'dist', 'src', 'worker.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A `modelship <args>` process; `output()` is what it printed on stdout so far. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; done: Promise<CliRun> } {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CliRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, output: () => stdout, done };
}

/** Runs `modelship <args>` to its end and collects its output. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return startCli(args, env).done;
}

/**
 * The environment of a worker (or CLI) process of a test: its own home and bundles under `dir`,
 * the passphrase from `<dir>/passphrase`, no Temporal config file, quiet JSON logs.
 */
export function processEnv(dir: string, server: { address: string; namespace?: string }, taskQueue: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: dir,
    TEMPORAL_ADDRESS: server.address,
    ...(server.namespace ? { TEMPORAL_NAMESPACE: server.namespace } : {}),
    TEMPORAL_CONFIG_FILE: join(dir, 'no-such-temporal.toml'),
    MODELSHIP_TASK_QUEUE: taskQueue,
    MODELSHIP_HOME: dir,
    MODELSHIP_BUNDLES_DIR: join(dir, 'bundles'),
    MODELSHIP_KEY_PASSPHRASE_FILE: join(dir, 'passphrase'),
    MODELSHIP_LOG_FORMAT: 'json',
    MODELSHIP_LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** `node dist/src/worker.js` with `env`; its output is dropped unless MODELSHIP_TEST_WORKER_OUTPUT is set. */
export function spawnWorker(env: NodeJS.ProcessEnv, stdio: StdioOptions = process.env.MODELSHIP_TEST_WORKER_OUTPUT ? 'inherit' : 'ignore'): ChildProcess {
  return spawn(process.execPath, [WORKER_MAIN], { env, stdio });
}
