import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { createLogger } from '../logger.js';
import { EncryptionCodec } from '../codec/encryption-codec.js';
import { keyringFromEnvironment, loadKeysFile } from '../codec/keys.js';
import { startCodecServer } from '../codec/codec-server.js';
import { CodecConfigError } from '../errors/index.js';
import { CliError, say } from './output.js';

export interface CodecServerFlags {
  port: string;
  host: string;
  keys?: string;
  tokenFile?: string;
  uiOrigin: string[];
}

/** The bearer token: --token-file, MODELSHIP_CODEC_SERVER_TOKEN_FILE or MODELSHIP_CODEC_SERVER_TOKEN. */
async function loadToken(file: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  const path = file ?? env.MODELSHIP_CODEC_SERVER_TOKEN_FILE;
  let token: string | undefined;
  if (path) {
    try {
      token = (await readFile(path, 'utf8')).trim();
    } catch (err) {
      throw new CodecConfigError(`cannot read the codec server token file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else token = env.MODELSHIP_CODEC_SERVER_TOKEN?.trim();
  if (!token) throw new CodecConfigError('the codec server needs a bearer token: --token-file FILE, MODELSHIP_CODEC_SERVER_TOKEN_FILE or MODELSHIP_CODEC_SERVER_TOKEN (e.g. openssl rand -hex 32 > token)');
  if (token.length < 16) throw new CodecConfigError('the codec server token is shorter than 16 characters: use a random one (openssl rand -hex 32)');
  return token;
}

/** `modelship codec-server`: decodes payloads for the Web UI and the temporal CLI until SIGINT/SIGTERM. */
export async function codecServerCommand(flags: CodecServerFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be 0-65535, got ${flags.port}`, 2);
  for (const origin of flags.uiOrigin) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin.replace(/\/$/, '')) throw new CliError(`--ui-origin must be an origin like http://localhost:8233 (scheme, host, port; no path), got ${origin}`, 2);
  }
  const keyring = flags.keys ? await loadKeysFile(flags.keys, env.MODELSHIP_CODEC_KEY_ID || undefined) : await keyringFromEnvironment(env);
  if (!keyring) throw new CodecConfigError('the codec server needs the codec keys: --keys FILE, MODELSHIP_CODEC_KEYS_FILE or MODELSHIP_CODEC_KEYS');
  const token = await loadToken(flags.tokenFile, env);
  const logger = createLogger('modelship-codec-server');
  const server = await startCodecServer({ codec: new EncryptionCodec(keyring), token, uiOrigins: flags.uiOrigin, host: flags.host, port, logger });
  logger.info({ url: server.url, uiOrigins: flags.uiOrigin, currentKeyId: keyring.currentKeyId, keyIds: [...keyring.keys.keys()] }, 'codec server listening');
  say(`codec server at ${server.url} (Web UI: set the codec endpoint to ${server.url}; temporal CLI: --codec-endpoint ${server.url} --codec-auth "Bearer <token>")`);
  await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
  await server.close();
  logger.info('codec server stopped');
}
