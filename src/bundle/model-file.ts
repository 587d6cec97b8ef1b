import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileDigestOfBytes } from '../hashing/digest-rule.js';
import { bundlePaths } from './layout.js';
import { manifestDigestRule, type Manifest } from './manifest.js';

/**
 * The bundle's model file, read once more after verification and hashed against the verified
 * manifest (under its digest rule), so what runs is what was checked even if the file was
 * swapped in between. Undefined when it is missing, unlisted or different.
 */
export async function readVerifiedModelFile(bundleDir: string, manifest: Manifest): Promise<Buffer | undefined> {
  const entry = manifest.files.find((f) => f.path === manifest.modelFile);
  if (!entry) return undefined;
  const bytes = await readFile(join(bundlePaths(bundleDir).modelDir, manifest.modelFile)).catch(() => undefined);
  return bytes && fileDigestOfBytes(bytes, manifestDigestRule(manifest.digest)) === entry.sha256 ? bytes : undefined;
}
