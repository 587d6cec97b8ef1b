#!/usr/bin/env bash
# Build the `oras` CLI (oras.land/oras v1.3.6), the independent OCI client the interop tests and
# the bench compare against, into .modelship/tools. Prints its path as the only stdout line.
# Idempotent: an existing binary of the pinned version is reused. Needs Go (the Go module proxy).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
VERSION="v1.3.6"
TOOLS="$ROOT/.modelship/tools"
BIN="$TOOLS/oras"

say() { echo "oras: $*" >&2; }

if [ -x "$BIN" ] && "$BIN" version 2>/dev/null | grep -q "${VERSION#v}"; then
  echo "$BIN"; exit 0
fi
command -v go >/dev/null 2>&1 || { say "error: Go is needed to build oras $VERSION (go install oras.land/oras/cmd/oras@$VERSION)"; exit 1; }
mkdir -p "$TOOLS"
say "building oras $VERSION with go install into $TOOLS (a few minutes the first time)"
GOBIN="$TOOLS" GOFLAGS=-mod=mod go install "oras.land/oras/cmd/oras@$VERSION" >&2
"$BIN" version >/dev/null 2>&1 || { say "error: $BIN does not run"; exit 1; }
echo "$BIN"
