import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { EncryptionCodec, NoKeysCodec } from './encryption-codec.js';
import { keyringFromEnvironment, type CodecKeyring } from './keys.js';

export interface ConfiguredCodec {
  readonly codec: PayloadCodec;
  /** Present when keys are configured (payloads are encrypted); absent: pass-through. */
  readonly keyring?: CodecKeyring;
}

/**
 * The payload codec the CLI and the workers use: AES-256-GCM with the configured keys, or, with
 * none, a pass-through that only turns an encrypted payload into an error naming its key id.
 */
export async function codecFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<ConfiguredCodec> {
  const keyring = await keyringFromEnvironment(env);
  return keyring ? { codec: new EncryptionCodec(keyring), keyring } : { codec: new NoKeysCodec() };
}

export function dataConverterWith(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec] };
}

/** For logs: which key encrypts and which decrypt. Ids only, never key bytes. */
export function describeKeyring(keyring: CodecKeyring | undefined): { payloadEncryption: false } | { payloadEncryption: true; currentKeyId: string; keyIds: string[] } {
  return keyring ? { payloadEncryption: true, currentKeyId: keyring.currentKeyId, keyIds: [...keyring.keys.keys()] } : { payloadEncryption: false };
}
