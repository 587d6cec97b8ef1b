import { readFile, stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { writeFileAtomic } from '../atomic-write.js';
import { describeDigestRule, type DigestRule } from './digest-rule.js';

/**
 * An opt-in cache of file digests keyed by path and the file's identity on disk (device, inode,
 * size, mtime and ctime in nanoseconds), so re-signing a large model after a small change
 * re-hashes only the files that changed.
 *
 * Why it is safe enough to sign from: any write to a file moves its ctime, which no user call can
 * set back, and a replaced file gets a new inode. An entry is trusted only if the file's mtime was
 * older than the moment hashing began by more than the clock's granularity (git's "racy clean"
 * rule): a write landing in the same timestamp tick as the hash cannot hide. The cache file itself
 * is trusted local state: whoever can write it can make us sign a wrong digest, exactly like
 * whoever can write the model folder; keep it beside the models, not in a shared place.
 * Two processes sharing one cache file may lose each other's new entries (last save wins),
 * never corrupt them: saves are atomic renames.
 */
export interface FileIdentity {
  readonly dev: string;
  readonly ino: string;
  readonly size: number;
  readonly mtimeNs: string;
  readonly ctimeNs: string;
}

interface CacheEntry extends FileIdentity {
  readonly rule: string;
  readonly sha256: string;
  /** When hashing of this content started (ns since the epoch). */
  readonly hashedAtNs: string;
}

interface CacheFile {
  readonly format: 'modelship-digest-cache-v1';
  readonly entries: Record<string, CacheEntry>;
}

/** Timestamps closer than this to the start of hashing are "racy": not trusted next time. */
const RACY_NS = 2_000_000_000n;

export function fileIdentity(info: BigIntStats): FileIdentity {
  return { dev: String(info.dev), ino: String(info.ino), size: Number(info.size), mtimeNs: String(info.mtimeNs), ctimeNs: String(info.ctimeNs) };
}

export async function statIdentity(path: string): Promise<FileIdentity> {
  return fileIdentity(await stat(path, { bigint: true }));
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export class DigestCache {
  private dirty = false;

  private constructor(
    readonly path: string,
    private readonly entries: Map<string, CacheEntry>,
    /** Why an existing cache file was not used (it was unreadable or of another format). */
    readonly discarded?: string,
  ) {}

  /** Opens the cache at `path`; a missing file is an empty cache, an unreadable one is discarded (and reported). */
  static async open(path: string): Promise<DigestCache> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new DigestCache(path, new Map());
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as CacheFile;
      if (parsed.format !== 'modelship-digest-cache-v1' || typeof parsed.entries !== 'object' || parsed.entries === null) throw new Error('not a modelship digest cache');
      return new DigestCache(path, new Map(Object.entries(parsed.entries)));
    } catch (err) {
      return new DigestCache(path, new Map(), `${path}: ${(err as Error).message}; starting an empty cache`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached digest of the file at absolute `path` if it is the very file that was hashed. */
  lookup(path: string, identity: FileIdentity, rule: DigestRule): string | undefined {
    const entry = this.entries.get(path);
    if (!entry || entry.rule !== describeDigestRule(rule) || !sameIdentity(entry, identity)) return undefined;
    if (BigInt(entry.mtimeNs) + RACY_NS > BigInt(entry.hashedAtNs)) return undefined;
    return entry.sha256;
  }

  /**
   * Records a digest. `identity` must be the file's identity from before hashing began and
   * `hashedAtNs` that moment; a file that changed while it was hashed must not be recorded.
   */
  record(path: string, identity: FileIdentity, rule: DigestRule, sha256: string, hashedAtNs: bigint): void {
    this.entries.set(path, { ...identity, rule: describeDigestRule(rule), sha256, hashedAtNs: String(hashedAtNs) });
    this.dirty = true;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    const file: CacheFile = { format: 'modelship-digest-cache-v1', entries: Object.fromEntries(this.entries) };
    await writeFileAtomic(this.path, JSON.stringify(file) + '\n');
    this.dirty = false;
  }
}
