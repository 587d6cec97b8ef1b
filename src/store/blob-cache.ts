import { constants } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { chmod, copyFile, link, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { DigestMismatchError } from '../errors/index.js';
import { dirname, join } from 'node:path';
import { sha256File } from '../hashing/stream-hash.js';
import { digestOf, hexOf, type Descriptor } from '../oci/descriptor.js';
import { DATA_DIR } from '../paths.js';

/** How a cached blob became a bundle file: its own extents shared (reflink), the same inode (link), or a byte copy. */
export type MaterializeMode = 'reflink' | 'link' | 'copy';

/** Errors that mean "this file system cannot do that here", not "something is wrong". */
const UNSUPPORTED = new Set(['EOPNOTSUPP', 'ENOTSUP', 'ENOSYS', 'EXDEV', 'EINVAL', 'EPERM', 'EMLINK', 'ENOTTY']);

/**
 * A host's content-addressed cache of blobs and manifests, `<root>/sha256/<hex>`. Only verified
 * bytes enter it (they are written through writeVerified, renamed into place once their digest
 * matched), so a second pull on this host reads nothing of what it holds from the store again.
 *
 * Bundle files are made from cached blobs without a second copy of the bytes: a reflink where the
 * file system has them (XFS, btrfs: the copy shares extents until written, so nothing reaches the
 * cache), else a hard link to the cache file, which is made read-only first. A hard link shares
 * the inode, so a root process writing into a bundle file would change the cached blob too: that
 * is why every cached blob is re-hashed before it is used again (`verify`), and one that no longer
 * matches its digest is deleted and fetched again.
 */
export class BlobCache {
  /** What the last materialisation did, learned once per cache (the file system does not change). */
  private mode: MaterializeMode | undefined;

  constructor(readonly root: string = process.env.MODELSHIP_BLOB_CACHE ?? join(process.env.MODELSHIP_HOME ?? DATA_DIR, 'blobs')) {}

  pathOf(desc: Pick<Descriptor, 'digest'>): string {
    return join(this.root, 'sha256', hexOf(desc.digest));
  }

  async has(desc: Pick<Descriptor, 'digest' | 'size'>): Promise<boolean> {
    try {
      return (await stat(this.pathOf(desc))).size === desc.size;
    } catch {
      return false;
    }
  }

  /**
   * A small cached object (a manifest, a signature, an attestation), its bytes checked against
   * its digest: one that no longer matches is removed and reads as absent, so it is fetched again.
   */
  async read(desc: Pick<Descriptor, 'digest' | 'size'>): Promise<Buffer | undefined> {
    if (!(await this.has(desc))) return undefined;
    const bytes = await readFile(this.pathOf(desc));
    if (digestOf(bytes) === desc.digest && bytes.length === desc.size) return bytes;
    await rm(this.pathOf(desc), { force: true });
    return undefined;
  }

  /**
   * Whether the cached blob is present and its bytes still hash to its digest. A blob that no
   * longer does (changed through a hard link, bit rot, a partial copy by hand) is removed, so the
   * caller fetches it again. Costs one read at hashing speed, well under a fetch.
   */
  async verify(desc: Pick<Descriptor, 'digest' | 'size'>, signal?: AbortSignal): Promise<'verified' | 'absent' | 'corrupt'> {
    if (!(await this.has(desc))) return 'absent';
    const got = await sha256File(this.pathOf(desc), signal ? { signal } : {});
    if (`sha256:${got.sha256}` === desc.digest && got.size === desc.size) return 'verified';
    await rm(this.pathOf(desc), { force: true });
    return 'corrupt';
  }

  /**
   * Takes a local file into the cache under `desc`: a file this host has just hashed to that
   * digest (export's own files, hashed when they were copied and again as they were pushed). It is
   * not hashed a third time here, because nothing in the cache is used unchecked: `verify`
   * re-hashes a blob before each use and `read` checks a small object's bytes, so a file that
   * does not match (changed since, or handed in wrongly) is dropped and fetched from the store.
   * Only the size is checked now, the one mistake visible without reading the file.
   * The entry shares the file's blocks (reflink) or inode (hard link, both made read-only) where
   * it can, so seeding the cache reads and writes nothing; else it is copied.
   */
  async adopt(desc: Pick<Descriptor, 'digest' | 'size'>, source: string, what: string): Promise<void> {
    const size = (await stat(source)).size;
    if (size !== desc.size) throw new DigestMismatchError(`${what}: expected ${desc.digest} (${desc.size} bytes), the file holds ${size} bytes`);
    const dest = this.pathOf(desc);
    await mkdir(dirname(dest), { recursive: true });
    const temp = `${dest}.${randomUUID().slice(0, 8)}.partial`;
    try {
      try {
        await copyFile(source, temp, constants.COPYFILE_FICLONE_FORCE);
      } catch (err) {
        if (!UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
        try {
          await chmod(source, 0o444);
          await link(source, temp);
        } catch (err2) {
          if (!UNSUPPORTED.has((err2 as NodeJS.ErrnoException).code ?? '')) throw err2;
          await copyFile(source, temp);
        }
      }
      await rename(temp, dest);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  /** Makes a freshly verified cache file read-only, so a bundle file linked to it cannot be written by accident. */
  async seal(desc: Pick<Descriptor, 'digest'>): Promise<void> {
    await chmod(this.pathOf(desc), 0o444);
  }

  /**
   * Puts a cached blob at `path` without copying its bytes where the file system allows: a
   * reflink, else a hard link to the (read-only) cache file, else (another file system) a copy.
   */
  async materialize(desc: Pick<Descriptor, 'digest'>, path: string): Promise<MaterializeMode> {
    await mkdir(dirname(path), { recursive: true });
    await rm(path, { force: true });
    const source = this.pathOf(desc);
    if (this.mode === undefined || this.mode === 'reflink') {
      try {
        await copyFile(source, path, constants.COPYFILE_FICLONE_FORCE);
        return (this.mode = 'reflink');
      } catch (err) {
        if (!UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
        await rm(path, { force: true });
      }
    }
    if (this.mode !== 'copy') {
      try {
        await chmod(source, 0o444);
        await link(source, path);
        return (this.mode = 'link');
      } catch (err) {
        if (!UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      }
    }
    await copyFile(source, path);
    return (this.mode = 'copy');
  }
}
