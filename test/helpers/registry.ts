// A real registry (CNCF distribution, the version registry/install.sh pins) on a free port,
// started and stopped by the project's own registry/start.sh and stop.sh, in a temporary data folder.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';
import { freePorts } from './dev-server.js';

export interface TestRegistry {
  /** host:port */
  readonly address: string;
  readonly dataDir: string;
  /** distribution's filesystem storage root (docker/registry/v2/…), for tampering tests. */
  readonly storageDir: string;
  stop(): Promise<void>;
}

export const ORAS_BIN = join(PROJECT_ROOT, '.modelship', 'tools', 'oras');

/** Why registry tests cannot run here, or undefined when they can (setup installs both). */
export function registryUnavailable(): string | undefined {
  return spawnSync('bash', [join(PROJECT_ROOT, 'registry', 'install.sh')], { encoding: 'utf8' }).status === 0 ? undefined : 'no registry binary (registry/install.sh builds distribution with Go)';
}

let version: string | undefined;

/** What runs as the registry, e.g. "distribution v3.1.2", for bench tables (asked once per process). */
export function registryVersion(): string {
  if (version !== undefined) return version;
  const bin = execFileSync('bash', [join(PROJECT_ROOT, 'registry', 'install.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const printed = execFileSync(bin, ['--version'], { encoding: 'utf8' });
  const number = /\bv?(\d+\.\d+\.\d+)/.exec(printed)?.[1];
  return (version = number ? `distribution v${number}` : `distribution (${printed.trim()})`);
}

export function orasUnavailable(): string | undefined {
  return existsSync(ORAS_BIN) ? undefined : `oras is not built (${ORAS_BIN}; registry/install-oras.sh)`;
}

export async function startRegistry(
  options: { users?: Record<string, string>; token?: { realm: string; service: string; issuer: string; certFile: string }; tls?: { certFile: string; keyFile: string } } = {},
): Promise<TestRegistry> {
  const dataDir = await mkdtemp(join(tmpdir(), 'modelship-registry-'));
  const [port] = await freePorts(1);
  const args = [join(PROJECT_ROOT, 'registry', 'start.sh'), '--port', String(port), '--data-dir', join(dataDir, 'r')];
  if (options.users) {
    const file = join(dataDir, 'htpasswd');
    const lines = Object.entries(options.users).map(([user, password]) => execFileSync('htpasswd', ['-Bbn', user, password], { encoding: 'utf8' }).trim());
    await writeFile(file, `${lines.join('\n')}\n`);
    args.push('--htpasswd', file);
  }
  if (options.token) args.push('--token-realm', options.token.realm, '--token-service', options.token.service, '--token-issuer', options.token.issuer, '--token-cert', options.token.certFile);
  if (options.tls) args.push('--tls-cert', options.tls.certFile, '--tls-key', options.tls.keyFile);
  execFileSync('bash', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  let stopped = false;
  return {
    address: `127.0.0.1:${port}`,
    dataDir: join(dataDir, 'r'),
    storageDir: join(dataDir, 'r', 'storage', 'docker', 'registry', 'v2'),
    async stop() {
      if (stopped) return;
      stopped = true;
      execFileSync('bash', [join(PROJECT_ROOT, 'registry', 'stop.sh'), '--data-dir', join(dataDir, 'r')], { stdio: 'ignore' });
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
