/**
 * A small, bounds-checked ZIP reader: enough for numpy's .npz files (which np.savez writes with
 * ZIP64 local headers) and Python wheels. Reads the central directory, then each member's data
 * through its local header; stored and deflated members only, every CRC-32 checked.
 */
import { crc32, inflateRawSync } from 'node:zlib';

export class ZipError extends Error {}

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  readonly localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_EOCD_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const ZIP64_EXTRA = 0x0001;
const U32_MAX = 0xffffffff;

export function listZip(archive: Uint8Array): ZipEntry[] {
  const buf = Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength);
  const eocd = findEocd(buf);
  let count = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  if (cdOffset === U32_MAX || cdSize === U32_MAX || count === 0xffff) {
    const locator = eocd - 20;
    if (locator < 0 || buf.readUInt32LE(locator) !== ZIP64_EOCD_LOCATOR) throw new ZipError('ZIP64 archive without its end-of-directory locator');
    const zip64 = safeNumber(buf.readBigUInt64LE(locator + 8), 'ZIP64 directory offset');
    need(buf, zip64, 56, 'ZIP64 end of central directory');
    if (buf.readUInt32LE(zip64) !== ZIP64_EOCD) throw new ZipError('bad ZIP64 end-of-central-directory signature');
    count = safeNumber(buf.readBigUInt64LE(zip64 + 32), 'entry count');
    cdSize = safeNumber(buf.readBigUInt64LE(zip64 + 40), 'directory size');
    cdOffset = safeNumber(buf.readBigUInt64LE(zip64 + 48), 'directory offset');
  }
  need(buf, cdOffset, cdSize, 'central directory');
  const entries: ZipEntry[] = [];
  let pos = cdOffset;
  for (let i = 0; i < count; i++) {
    need(buf, pos, 46, 'central directory entry');
    if (buf.readUInt32LE(pos) !== CENTRAL) throw new ZipError(`bad central directory entry signature at byte ${pos}`);
    const flags = buf.readUInt16LE(pos + 8);
    const method = buf.readUInt16LE(pos + 10);
    const crc = buf.readUInt32LE(pos + 16);
    let compressedSize = buf.readUInt32LE(pos + 20);
    let size = buf.readUInt32LE(pos + 24);
    const nameLength = buf.readUInt16LE(pos + 28);
    const extraLength = buf.readUInt16LE(pos + 30);
    const commentLength = buf.readUInt16LE(pos + 32);
    let localHeaderOffset = buf.readUInt32LE(pos + 42);
    need(buf, pos + 46, nameLength + extraLength + commentLength, 'central directory names');
    const name = buf.toString('utf8', pos + 46, pos + 46 + nameLength);
    if (flags & 0x1) throw new ZipError(`${name} is encrypted`);
    // ZIP64 extra: the 64-bit values, in this order, for each field that is 0xFFFFFFFF.
    let extra = pos + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = buf.readUInt16LE(extra);
      const length = buf.readUInt16LE(extra + 2);
      if (id === ZIP64_EXTRA) {
        let p = extra + 4;
        const next = (what: string) => {
          if (p + 8 > extra + 4 + length) throw new ZipError(`${name}: ZIP64 extra field too short for its ${what}`);
          const v = safeNumber(buf.readBigUInt64LE(p), what);
          p += 8;
          return v;
        };
        if (size === U32_MAX) size = next('size');
        if (compressedSize === U32_MAX) compressedSize = next('compressed size');
        if (localHeaderOffset === U32_MAX) localHeaderOffset = next('offset');
      }
      extra += 4 + length;
    }
    entries.push({ name, method, compressedSize, size, crc32: crc, localHeaderOffset });
    pos += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** A member's bytes, inflated and checked against its CRC-32. */
export function readZipEntry(archive: Uint8Array, entry: ZipEntry): Buffer {
  const buf = Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength);
  const at = entry.localHeaderOffset;
  need(buf, at, 30, `${entry.name} local header`);
  if (buf.readUInt32LE(at) !== LOCAL) throw new ZipError(`${entry.name}: bad local header signature`);
  const start = at + 30 + buf.readUInt16LE(at + 26) + buf.readUInt16LE(at + 28);
  need(buf, start, entry.compressedSize, `${entry.name} data`);
  const raw = buf.subarray(start, start + entry.compressedSize);
  let data: Buffer;
  if (entry.method === 0) data = Buffer.from(raw);
  else if (entry.method === 8) {
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(entry.size, 1) });
    } catch (err) {
      throw new ZipError(`${entry.name}: cannot inflate: ${(err as Error).message}`);
    }
  } else throw new ZipError(`${entry.name}: compression method ${entry.method} is not supported (stored or deflate only)`);
  if (data.length !== entry.size) throw new ZipError(`${entry.name}: ${data.length} bytes, the directory says ${entry.size}`);
  if (crc32(data) >>> 0 !== entry.crc32 >>> 0) throw new ZipError(`${entry.name}: CRC-32 mismatch (damaged archive)`);
  return data;
}

function findEocd(buf: Buffer): number {
  // The record is 22 bytes plus a comment of up to 65535 bytes, at the very end.
  for (let pos = buf.length - 22; pos >= Math.max(0, buf.length - 22 - 0xffff); pos--) {
    if (buf.readUInt32LE(pos) === EOCD) return pos;
  }
  throw new ZipError('not a ZIP archive (no end-of-central-directory record)');
}

function need(buf: Buffer, pos: number, length: number, what: string): void {
  if (pos < 0 || length < 0 || pos + length > buf.length) throw new ZipError(`truncated archive reading ${what} at byte ${pos}`);
}

function safeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError(`${what} ${value} is out of range`);
  return Number(value);
}
