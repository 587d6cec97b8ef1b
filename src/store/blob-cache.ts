import { constants } from 'node:fs';
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hexOf, type Descriptor } from '../oci/descriptor.js';
import { DATA_DIR } from '../paths.js';

/**
 * A host's content-addressed cache of blobs and manifests, `<root>/sha256/<hex>`. Only verified
 * bytes enter it (they are written through writeVerified, renamed into place once their digest
 * matched), so a second pull on this host reads nothing of what it holds from the store again.
 */
export class BlobCache {
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

  async read(desc: Pick<Descriptor, 'digest' | 'size'>): Promise<Buffer | undefined> {
    return (await this.has(desc)) ? readFile(this.pathOf(desc)) : undefined;
  }

  /** Copies a cached blob to `path` (a reflink where the file system has them), so edits to the copy never reach the cache. */
  async copyTo(desc: Pick<Descriptor, 'digest'>, path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await copyFile(this.pathOf(desc), path, constants.COPYFILE_FICLONE);
  }
}
