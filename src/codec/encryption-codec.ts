/**
 * AES-256-GCM payload codec. Each encoded payload is
 *   metadata: { encoding: "binary/encrypted", "encryption-key-id": <id> }
 *   data:     12-byte IV ‖ ciphertext ‖ 16-byte tag
 * where the plaintext is the original Payload in protobuf wire form (metadata and data both
 * hidden, as the Temporal samples do) and the key id is bound in as additional data, so a
 * payload relabelled with another key id fails to decrypt instead of decrypting wrongly.
 * One key encrypts; every key in the keyring decrypts, which is what rotation needs.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import protobuf from 'protobufjs';
import type { CodecKeyring } from './keys.js';
import { CodecDecryptError, CodecKeysMissingError, CodecKeyUnknownError } from '../errors/index.js';

export const ENCODING_ENCRYPTED = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

// temporal.api.common.v1.Payload: map<string, bytes> metadata = 1; bytes data = 2.
const PayloadMessage = new protobuf.Type('Payload').add(new protobuf.MapField('metadata', 1, 'string', 'bytes')).add(new protobuf.Field('data', 2, 'bytes'));
new protobuf.Root().add(PayloadMessage);

function serialize(payload: Payload): Uint8Array {
  return PayloadMessage.encode({ metadata: payload.metadata ?? {}, data: payload.data ?? new Uint8Array() }).finish();
}

function deserialize(bytes: Uint8Array): Payload {
  const obj = PayloadMessage.toObject(PayloadMessage.decode(bytes), { bytes: Buffer }) as { metadata?: Record<string, Buffer>; data?: Buffer };
  const metadata = Object.fromEntries(Object.entries(obj.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(v)]));
  return { metadata, data: new Uint8Array(obj.data ?? []) };
}

function metadataString(payload: Payload, key: string): string | undefined {
  const value = payload.metadata?.[key];
  return value ? Buffer.from(value).toString('utf8') : undefined;
}

export function isEncrypted(payload: Payload): boolean {
  return metadataString(payload, METADATA_ENCODING_KEY) === ENCODING_ENCRYPTED;
}

/** The key id an encrypted payload names ("(none)" when its metadata lacks one). */
export function payloadKeyId(payload: Payload): string {
  return metadataString(payload, METADATA_KEY_ID) ?? '(none)';
}

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: CodecKeyring) {}

  get currentKeyId(): string {
    return this.keyring.currentKeyId;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyId = this.keyring.currentKeyId;
    const key = this.keyring.keys.get(keyId)!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(keyId, 'utf8'));
      const body = Buffer.concat([cipher.update(serialize(payload)), cipher.final()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCODING_ENCRYPTED), [METADATA_KEY_ID]: Buffer.from(keyId) },
        data: Buffer.concat([iv, body, cipher.getAuthTag()]),
      };
    });
  }

  /** Payloads written before encryption was turned on pass through unchanged. */
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncrypted(payload) ? this.decrypt(payload) : payload));
  }

  private decrypt(payload: Payload): Payload {
    const keyId = payloadKeyId(payload);
    const key = this.keyring.keys.get(keyId);
    if (!key) {
      throw new CodecKeyUnknownError(
        keyId,
        `payload encrypted with codec key ${keyId}, which this process does not have (it has ${[...this.keyring.keys.keys()].join(', ')}): add key ${keyId} to MODELSHIP_CODEC_KEYS_FILE / MODELSHIP_CODEC_KEYS`,
      );
    }
    const data = Buffer.from(payload.data ?? []);
    try {
      if (data.length < IV_BYTES + TAG_BYTES) throw new Error(`${data.length} bytes is too short`);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(keyId, 'utf8'));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      return deserialize(Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]));
    } catch (err) {
      throw new CodecDecryptError(
        keyId,
        `payload encrypted with codec key ${keyId} does not decrypt with the key configured as ${keyId}: the configured key is wrong or the payload was altered; check key ${keyId} against the one the writers use`,
        { cause: err },
      );
    }
  }
}

/**
 * For a process with no keys configured: payloads pass through exactly as without a codec,
 * but an encrypted one fails with an error naming its key id, instead of the payload
 * converter's bare "Unknown encoding: binary/encrypted".
 */
export class NoKeysCodec implements PayloadCodec {
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads;
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    for (const payload of payloads) {
      if (isEncrypted(payload)) {
        const keyId = payloadKeyId(payload);
        throw new CodecKeysMissingError(keyId, `payload encrypted with codec key ${keyId}, but this process has no codec keys: set MODELSHIP_CODEC_KEYS_FILE (or MODELSHIP_CODEC_KEYS) with key ${keyId}`);
      }
    }
    return payloads;
  }
}
