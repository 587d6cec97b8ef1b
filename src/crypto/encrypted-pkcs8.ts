import { createCipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';

/**
 * PKCS#8 EncryptedPrivateKeyInfo (RFC 5958) with PBES2 (RFC 8018): PBKDF2-HMAC-SHA256 and
 * AES-256-CBC. Written by hand because node:crypto's export fixes PBKDF2 at 2048 iterations,
 * far too few for a key at rest; OpenSSL (and so `openssl pkey` and node:crypto's import)
 * reads any iteration count.
 */
export const PBKDF2_ITERATIONS = 600_000; // OWASP's figure for PBKDF2-HMAC-SHA256

const OID_PBES2 = '06092a864886f70d01050d';
const OID_PBKDF2 = '06092a864886f70d01050c';
const OID_HMAC_SHA256 = '06082a864886f70d0209';
const OID_AES256_CBC = '060960864801650304012a';

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : n < 0x10000 ? Buffer.from([0x82, n >> 8, n & 0xff]) : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

const sequence = (...parts: Buffer[]) => tlv(0x30, Buffer.concat(parts));
const octets = (bytes: Buffer) => tlv(0x04, bytes);
const oid = (hex: string) => Buffer.from(hex, 'hex');
const NULL = Buffer.from('0500', 'hex');

function integer(value: number): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}

/** Encrypts a DER PrivateKeyInfo under the passphrase and returns the PEM text. */
export function encryptPkcs8(privateKeyInfo: Buffer, passphrase: string, iterations = PBKDF2_ITERATIONS): string {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = pbkdf2Sync(Buffer.from(passphrase, 'utf8'), salt, iterations, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const encrypted = Buffer.concat([cipher.update(privateKeyInfo), cipher.final()]);
  key.fill(0);
  const der = sequence(
    sequence(
      oid(OID_PBES2),
      sequence(
        sequence(oid(OID_PBKDF2), sequence(octets(salt), integer(iterations), sequence(oid(OID_HMAC_SHA256), NULL))),
        sequence(oid(OID_AES256_CBC), octets(iv)),
      ),
    ),
    octets(encrypted),
  );
  const body = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${body}-----END ENCRYPTED PRIVATE KEY-----\n`;
}
