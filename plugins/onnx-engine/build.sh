#!/usr/bin/env bash
# Builds the ONNX engine plugin: AssemblyScript -> dist/plugins/onnx-engine.wasm (optimized,
# linear memory capped at 4096 pages = 256 MiB, no WASI). Works from any directory.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$HERE/../.." && pwd -P)"
OUT="$ROOT/dist/plugins/onnx-engine.wasm"
mkdir -p "$ROOT/dist/plugins"
trap 'rm -f "$OUT.tmp"' EXIT
cd "$HERE"
# abort is wired to the engine's handler (reports via error_set, then traps) so the module
# imports nothing but extism:host/env kernel functions.
"$ROOT/node_modules/.bin/asc" assembly/index.ts \
  --outFile "$OUT.tmp" \
  --optimizeLevel 3 --shrinkLevel 0 \
  --runtime incremental \
  --noAssert \
  --enable simd \
  --initialMemory 16 --maximumMemory 4096 \
  --use abort=assembly/index/engineAbort
mv "$OUT.tmp" "$OUT"
echo "onnx-engine: wrote $OUT ($(wc -c < "$OUT") bytes)" >&2
