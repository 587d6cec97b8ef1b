import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RegistryAuthError } from '../errors/index.js';

/** A username and password for one registry. Held in memory only; never logged or put in history. */
export interface Credentials {
  readonly username: string;
  readonly password: string;
  /** Where they came from, for messages: an env var name or a config file path (never the secret). */
  readonly source: string;
}

/**
 * Credentials for a registry host, in this order:
 *   MODELSHIP_REGISTRY_USERNAME with MODELSHIP_REGISTRY_PASSWORD (or _PASSWORD_FILE), for any registry;
 *   a Docker-style config.json ($DOCKER_CONFIG/config.json, else ~/.docker/config.json), `auths`
 *   entry for the host (base64 `auth` of user:password, or `username`/`password`).
 * Credential helpers (credsStore/credHelpers) are not run: give the env vars instead.
 */
export function credentialsFor(registry: string, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const username = env.MODELSHIP_REGISTRY_USERNAME;
  if (username) {
    let password = env.MODELSHIP_REGISTRY_PASSWORD;
    let source = 'MODELSHIP_REGISTRY_USERNAME/MODELSHIP_REGISTRY_PASSWORD';
    if (password === undefined && env.MODELSHIP_REGISTRY_PASSWORD_FILE) {
      source = `MODELSHIP_REGISTRY_USERNAME/MODELSHIP_REGISTRY_PASSWORD_FILE (${env.MODELSHIP_REGISTRY_PASSWORD_FILE})`;
      try {
        password = readFileSync(env.MODELSHIP_REGISTRY_PASSWORD_FILE, 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        throw new RegistryAuthError(`cannot read MODELSHIP_REGISTRY_PASSWORD_FILE ${env.MODELSHIP_REGISTRY_PASSWORD_FILE}: ${(err as Error).message}`);
      }
    }
    if (password === undefined) throw new RegistryAuthError('MODELSHIP_REGISTRY_USERNAME is set but neither MODELSHIP_REGISTRY_PASSWORD nor MODELSHIP_REGISTRY_PASSWORD_FILE is');
    return { username, password, source };
  }
  return fromDockerConfig(registry, env);
}

function fromDockerConfig(registry: string, env: NodeJS.ProcessEnv): Credentials | undefined {
  const file = join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let auths: Record<string, { auth?: string; username?: string; password?: string }>;
  try {
    auths = ((JSON.parse(text) as { auths?: typeof auths }).auths ?? {});
  } catch (err) {
    throw new RegistryAuthError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const key = Object.keys(auths).find((k) => hostOf(k) === registry);
  if (key === undefined) return undefined;
  const entry = auths[key]!;
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password, source: file };
  if (typeof entry.auth === 'string') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new RegistryAuthError(`${file}: auths["${key}"].auth is not base64 of user:password`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source: file };
  }
  return undefined;
}

/** `https://host:5000/v1/` and `host:5000` both name host:5000. */
function hostOf(key: string): string {
  return key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
}
