import { constants } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { modelFileDir, resolveExternalData, type ModelFolder } from '../onnx/external-data.js';

/** A folder onnxruntime can read a model's external data from, and how to let it go. */
export interface ExternalDataDir {
  readonly dir: string;
  readonly release: () => Promise<void>;
}

/**
 * onnxruntime refuses external data in a file with more than one hard link ("indicating a
 * potential security issue"), and a bundle pulled through the store hard-links its files to the
 * read-only blob cache on file systems without reflinks (src/store/blob-cache.ts). Such files are
 * copied (reflinked where possible) into a private folder, under the same relative paths; a
 * model without external data, or whose files have one link, loads from its own folder.
 * References are resolved against the bundle first, so only bundle files are ever copied.
 */
export async function externalDataDir(model: Uint8Array, folder: ModelFolder): Promise<ExternalDataDir> {
  const own = { dir: modelFileDir(folder), release: async () => undefined };
  const files = [...new Set(resolveExternalData(model, folder).map((r) => r.file))];
  const linked = await Promise.all(files.map(async (file) => (await stat(join(folder.dir, file))).nlink > 1));
  if (!linked.some(Boolean)) return own;
  const root = await mkdtemp(join(tmpdir(), 'modelship-external-data-'));
  try {
    const base = dirname(folder.modelFile);
    for (const file of files) {
      const to = join(root, file);
      await mkdir(dirname(to), { recursive: true });
      await copyFile(join(folder.dir, file), to, constants.COPYFILE_FICLONE);
    }
    return { dir: join(root, base), release: () => rm(root, { recursive: true, force: true }) };
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw err;
  }
}
