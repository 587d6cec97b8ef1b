#!/usr/bin/env bash
# Builds every WebAssembly plugin from source: each plugins/<name>/build.sh writes its
# .wasm file(s) into dist/plugins/. Called by scripts/setup.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
mkdir -p dist/plugins
shopt -s nullglob
for build in plugins/*/build.sh; do
  bash "$build"
done
