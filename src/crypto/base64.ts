/**
 * Strict base64 and base64url decoding: the input must be exactly what encoding the decoded
 * bytes gives back. Lenient decoders accept several spellings of the same bytes (unused low
 * bits in the last character, missing or extra padding, whitespace), which would let a
 * changed byte in a signature file go unnoticed.
 */
export function encodeBase64Url(data: Uint8Array | string): string {
  return Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64url');
}

export function encodeBase64(data: Uint8Array | string): string {
  return Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64');
}

export function decodeBase64UrlStrict(text: string, what: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error(`${what} is not base64url (RFC 4648 section 5, no padding)`);
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) throw new Error(`${what} is not canonical base64url`);
  return bytes;
}

export function decodeBase64Strict(text: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new Error(`${what} is not base64 (RFC 4648 section 4)`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) throw new Error(`${what} is not canonical base64`);
  return bytes;
}
