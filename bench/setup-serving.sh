#!/usr/bin/env bash
# What the serving bench needs beyond the project's setup, installed on first use:
#  - wrk (Debian), the load driver: C, event-driven, so it is not the bottleneck;
#  - KServe's Python model server with onnxruntime in a venv of its own (bench/kserve-requirements.txt).
# Prints the venv's python on stdout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
VENV="$ROOT/.modelship/bench/kserve-venv"
STAMP="$VENV/.requirements-sha256"
say() { printf 'bench setup: %s\n' "$*" >&2; }

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing wrk (Debian)"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    say "the serving bench needs wrk: sudo apt-get install wrk"; exit 1
  fi
fi

want="$(sha256sum "$ROOT/bench/kserve-requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  say "installing KServe and onnxruntime into $VENV (bench/kserve-requirements.txt)"
  mkdir -p "$(dirname "$VENV")"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/bench/kserve-requirements.txt" >&2
  echo "$want" > "$STAMP"
fi
echo "$VENV/bin/python"
