import { join } from 'node:path';
import { generateKeyFiles, passphraseFromEnvironment } from '../crypto/keys.js';
import { DATA_DIR } from '../paths.js';
import { printJson, say } from './output.js';

export const DEFAULT_KEYS_DIR = join(DATA_DIR, 'keys');
export const DEFAULT_KEY_NAME = 'release';
export const DEFAULT_SIGNING_KEY = join(DEFAULT_KEYS_DIR, `${DEFAULT_KEY_NAME}.key.pem`);

export async function keysGenerate(options: { dir: string; name: string; json?: boolean }): Promise<void> {
  const passphrase = await passphraseFromEnvironment();
  const files = await generateKeyFiles(options.dir, options.name, passphrase);
  if (options.json) return printJson(files);
  say(`kid ${files.kid}`);
  say(`private key (encrypted PKCS#8): ${files.privateKeyPath}`);
  say(`public key: ${files.publicKeyPath}`);
  say(`public JWK: ${files.publicJwkPath}`);
}
