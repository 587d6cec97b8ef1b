#!/usr/bin/env bash
# Builds the sandbox test plugins (AssemblyScript + @extism/as-pdk) into dist/plugins/:
#   sandbox-echo.wasm         well-behaved: returns its input (`echo`); `short_output` outputs part of a block
#   hostile-loop.wasm         infinite loop (export `run`)
#   hostile-memory.wasm       allocates until linear memory runs out; declares a 16 MiB maximum
#   hostile-no-max.wasm       the same code with no declared maximum (refused before running)
#   hostile-wasi.wasm         imports wasi_snapshot_preview1.fd_write (refused before running)
#   hostile-http.wasm         imports extism:host/env.http_request (refused before running)
#   hostile-host-alloc.wasm   exhausts host-side kernel memory (`run`, `vars`, `tiny`); `churn` frees what it allocates
#   hostile-error.wasm        reports an error through error_set (`run`) or aborts (`crash`)
# Every plugin routes AssemblyScript's abort to assembly/abort.ts (error_set, then trap).
# Works from any directory; run by scripts/build-plugins.sh.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$HERE/../.." && pwd -P)"
OUT="$ROOT/dist/plugins"
ASC="$ROOT/node_modules/.bin/asc"
mkdir -p "$OUT"
cd "$HERE"

# 256 pages of 64 KiB = 16 MiB: the declared linear-memory maximum of the plugins that have one.
MAX_PAGES=256
COMMON=(-O --noAssert --use abort=assembly/abort/pluginAbort)

build() { # build <source> <output name> [extra asc flags...]
  local src="$1" name="$2"
  shift 2
  "$ASC" "assembly/$src" --outFile "$OUT/$name.wasm" "${COMMON[@]}" "$@"
}

build echo.ts sandbox-echo --maximumMemory "$MAX_PAGES"
build loop.ts hostile-loop --maximumMemory "$MAX_PAGES"
build memory.ts hostile-memory --maximumMemory "$MAX_PAGES"
build memory.ts hostile-no-max
build wasi.ts hostile-wasi --maximumMemory "$MAX_PAGES"
build http.ts hostile-http --maximumMemory "$MAX_PAGES"
build host-alloc.ts hostile-host-alloc --maximumMemory "$MAX_PAGES"
build error.ts hostile-error --maximumMemory "$MAX_PAGES"
echo "hostile plugins: built into $OUT"
