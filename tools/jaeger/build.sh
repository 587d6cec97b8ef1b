#!/usr/bin/env bash
# Builds Jaeger (all-in-one, v1.75.0 = v2.12.0, pinned by this folder's go.mod/go.sum) into
# .modelship/tools/jaeger for the tracing test. `go install` is refused for this module (its
# go.mod has replace directives), hence the tools module. Idempotent: skipped when the binary
# was built from the same go.mod/go.sum. Prints the binary's path as the only stdout line.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$HERE/../.." && pwd -P)"
OUT="$ROOT/.modelship/tools/jaeger"
STAMP="$ROOT/.modelship/stamps/jaeger"
want="$(cat "$HERE/go.mod" "$HERE/go.sum" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$OUT" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  command -v go >/dev/null || { echo "jaeger: needs Go 1.24+ on PATH (the Go module proxy serves Jaeger's sources)" >&2; exit 1; }
  echo "jaeger: building github.com/jaegertracing/jaeger/cmd/jaeger (several minutes the first time)" >&2
  mkdir -p "$(dirname "$OUT")" "$(dirname "$STAMP")"
  (cd "$HERE" && go build -o "$OUT.tmp" github.com/jaegertracing/jaeger/cmd/jaeger)
  mv "$OUT.tmp" "$OUT"
  echo "$want" > "$STAMP"
fi
echo "$OUT"
