#!/usr/bin/env bash
# Builds the example smoke plugins (AssemblyScript + @extism/as-pdk) into dist/plugins/:
#   example-probability-check.wasm   export `check`: every output row is a probability distribution
# Works from any directory; run by scripts/build-plugins.sh.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$HERE/../.." && pwd -P)"
mkdir -p "$ROOT/dist/plugins"
cd "$HERE"
"$ROOT/node_modules/.bin/asc" assembly/probability-check.ts --outFile "$ROOT/dist/plugins/example-probability-check.wasm" \
  -O --noAssert --maximumMemory 256 --use abort=assembly/abort/pluginAbort
echo "example plugins: built into $ROOT/dist/plugins"
