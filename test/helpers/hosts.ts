// Several "hosts" on one machine: each process gets its own mount namespace with a private
// tmpfs at one path that is the same for every host, so all of them are configured alike
// (MODELSHIP_HOME=/…/host on each) yet none can read what another wrote there.
//
// How isolation is guaranteed (and checked by `assertIsolated`):
//  - `unshare -m --propagation private` gives the process a mount namespace whose mounts do not
//    propagate back to the machine or to other hosts;
//  - in it a fresh tmpfs is mounted at `hostPath` (empty: the machine's folder at that path is
//    covered), the host's own provisioning (keys, passphrase, config) is copied in, and then an
//    empty tmpfs is mounted over the test's provisioning folder, which hides every other host's
//    provisioning from it;
//  - `unshare` execs (no fork), so the child's pid is the program's pid and /proc/<pid>/root
//    shows that host's view of the filesystem from outside: a marker written through one host's
//    view is proven present there and absent from every other host's view and from the machine's.
// Loopback networking stays shared: hosts reach Temporal, the registry and the serving runtime
// by address, the way separate machines do.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';

export interface HostLab {
  /** The private folder's path, the same on every host (MODELSHIP_HOME points here). */
  readonly hostPath: string;
  /** Per host, files copied into its private folder at start: `provisionDir(name)/x` becomes `hostPath/x`. */
  provisionDir(name: string): string;
  /** Starts `argv` as host `name` (its own mount namespace and private folder). */
  spawn(name: string, argv: readonly string[], env: NodeJS.ProcessEnv, options?: { onLine?: (line: string) => void }): HostProcess;
  /** Kills every process still running (SIGKILL) and removes the lab's folders. */
  close(): Promise<void>;
}

export interface HostProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** A path inside this host's private folder, as seen from outside (through /proc/<pid>/root). */
  view(relative: string): string;
  readonly exited: Promise<number | null>;
  /** SIGKILL, as a machine that loses power; resolves when the process is gone. */
  kill9(): Promise<void>;
}

/** Whether this machine can simulate hosts (root with unshare and tmpfs). */
export async function canSimulateHosts(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  const probe = await mkdtemp(join(tmpdir(), 'modelship-unshare-probe-'));
  try {
    const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs tmpfs "$1"`, 'sh', probe], { stdio: 'ignore' });
    const [code] = (await once(child, 'exit')) as [number | null];
    return code === 0;
  } catch {
    return false;
  } finally {
    await rm(probe, { recursive: true, force: true });
  }
}

// mount a private tmpfs at $1, copy $2 into it, hide $3 (all hosts' provisioning), exec the rest.
const HOST_SCRIPT = 'set -e; mount -t tmpfs -o mode=0755 modelship-host "$1"; cp -a "$2"/. "$1"/; mount -t tmpfs -o mode=0700 modelship-hidden "$3"; shift 3; exec "$@"';

export async function createHostLab(): Promise<HostLab> {
  const id = randomBytes(4).toString('hex');
  const hostPath = join(tmpdir(), `modelship-host-${id}`);
  const provisionRoot = join(tmpdir(), `modelship-provision-${id}`);
  await mkdir(hostPath, { mode: 0o700 });
  await mkdir(provisionRoot, { mode: 0o700 });
  const running = new Set<HostProcess>();

  const lab: HostLab = {
    hostPath,
    provisionDir: (name) => join(provisionRoot, name),
    spawn(name, argv, env, options = {}) {
      const provision = join(provisionRoot, name);
      const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', HOST_SCRIPT, 'host', hostPath, provision, provisionRoot, ...argv], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let buffered = '';
      const onData = (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          if (process.env.MODELSHIP_TEST_WORKER_OUTPUT) process.stderr.write(`[${name}] ${line}\n`);
          options.onLine?.(line);
        }
      };
      child.stdout!.setEncoding('utf8').on('data', onData);
      child.stderr!.setEncoding('utf8').on('data', onData);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const host: HostProcess = {
        name,
        child,
        view: (relative) => join('/proc', String(child.pid), 'root', hostPath, relative),
        exited,
        kill9: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      };
      running.add(host);
      void exited.then(() => running.delete(host));
      return host;
    },
    async close() {
      await Promise.all([...running].map((h) => h.kill9()));
      await rm(hostPath, { recursive: true, force: true });
      await rm(provisionRoot, { recursive: true, force: true });
    },
  };
  return lab;
}

/** Writes the host's provisioning files (copied into its private folder at its start). */
export async function provision(lab: HostLab, name: string, files: Record<string, string | Buffer>): Promise<string> {
  const dir = lab.provisionDir(name);
  for (const [relative, content] of Object.entries(files)) {
    const path = join(dir, relative);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, content, { mode: 0o600 });
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Waits until the host's private folder is mounted (its view holds what was provisioned). */
export async function waitForHostMount(host: HostProcess, provisioned: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await stat(host.view(provisioned)).then(() => true, () => false)) return;
    if (host.child.exitCode !== null) throw new Error(`host ${host.name} exited (${host.child.exitCode}) before its folder was mounted`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`host ${host.name}: ${provisioned} never appeared in its private folder`);
}

/**
 * Proves the hosts share nothing at hostPath: a marker written through each host's view is read
 * back there and is absent from every other host's view and from the machine's own folder.
 */
export async function assertIsolated(lab: HostLab, hosts: readonly HostProcess[]): Promise<void> {
  for (const host of hosts) {
    const marker = `isolation-${host.name}-${randomBytes(4).toString('hex')}`;
    await writeFile(host.view(marker), host.name);
    assert.equal(await readFile(host.view(marker), 'utf8'), host.name);
    for (const other of hosts) {
      if (other === host) continue;
      await assert.rejects(stat(other.view(marker)), { code: 'ENOENT' }, `${other.name} can see a file ${host.name} wrote`);
    }
    await assert.rejects(stat(join(lab.hostPath, marker)), { code: 'ENOENT' }, `the machine can see a file ${host.name} wrote`);
    await rm(host.view(marker));
  }
}
