// The root digest computed with coreutils alone, as src/hashing/digest-rule.ts documents it:
// an independent check of our hashing, shards included.
import { execFileSync } from 'node:child_process';
import { DEFAULT_SHARD_BYTES } from '../../src/hashing/digest-rule.js';

const RECIPE = `
set -euo pipefail
cd "$1"; S="$2"
find . -type f -printf '%P\\n' | LC_ALL=C sort | while IFS= read -r f; do
  size=$(stat -c %s -- "$f")
  if [ "$size" -le "$S" ]; then d=$(sha256sum -- "$f" | cut -c1-64)
  else d=$({ printf 'modelship-shards-v1 %d %d\\n' "$S" "$size"; split -b "$S" --filter='sha256sum' -- "$f" | cut -c1-64; } | sha256sum | cut -c1-64)
  fi
  printf '%s  %s\\n' "$d" "$f"
done | sha256sum | cut -c1-64
`;

/** modelship-root-v2 of a folder, by coreutils (shardBytes defaults to the current rule's). */
export function coreutilsRootDigest(modelDir: string, shardBytes = DEFAULT_SHARD_BYTES): string {
  return execFileSync('bash', ['-c', RECIPE, '_', modelDir, String(shardBytes)]).toString().trim();
}

/** One file's digest under modelship-root-v2, by coreutils. */
export function coreutilsFileDigest(path: string, size: number, shardBytes = DEFAULT_SHARD_BYTES): string {
  const script =
    size <= shardBytes
      ? `sha256sum -- "$1" | cut -c1-64`
      : `{ printf 'modelship-shards-v1 %d %d\\n' "$2" "$3"; split -b "$2" --filter='sha256sum' -- "$1" | cut -c1-64; } | sha256sum | cut -c1-64`;
  return execFileSync('bash', ['-c', script, '_', path, String(shardBytes), String(size)]).toString().trim();
}
