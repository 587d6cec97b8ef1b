#!/usr/bin/env bash
# The main job (npm run demo): installs what is missing, starts the Temporal dev server
# (Web UI on 8233) and a worker, releases the sample model, verifies the bundle and prints
# the Web UI link. The dev server keeps running afterwards so the run can be inspected.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
bash scripts/setup.sh

STATE="$ROOT/.modelship"
mkdir -p "$STATE/demo"
bash temporal/start.sh

# The demo keeps its key passphrase in a private file; bring your own with
# MODELSHIP_KEY_PASSPHRASE or MODELSHIP_KEY_PASSPHRASE_FILE.
if [ -z "${MODELSHIP_KEY_PASSPHRASE:-}" ] && [ -z "${MODELSHIP_KEY_PASSPHRASE_FILE:-}" ]; then
  if [ ! -s "$STATE/demo/passphrase" ]; then
    (umask 077 && node -e "process.stdout.write(require('crypto').randomBytes(24).toString('base64url'))" > "$STATE/demo/passphrase")
  fi
  export MODELSHIP_KEY_PASSPHRASE_FILE="$STATE/demo/passphrase"
fi
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"

modelship() { node "$ROOT/bin/modelship.js" "$@"; }

if [ ! -f "$STATE/keys/release.key.pem" ]; then
  echo "== generating the release signing key"
  modelship keys generate
fi

echo "== starting a modelship worker (log: .modelship/demo/worker.log)"
MODELSHIP_LOG_FORMAT=json node dist/src/worker.js >> "$STATE/demo/worker.log" 2>&1 &
WORKER=$!
stop_worker() { kill -TERM "$WORKER" 2>/dev/null && wait "$WORKER" 2>/dev/null || true; }
trap stop_worker EXIT

VERSION="1.0.0-demo.$(date -u +%Y%m%d%H%M%S)"
echo "== releasing models/sample/sample-mlp.onnx as sample-mlp@$VERSION"
modelship release models/sample/sample-mlp.onnx --name sample-mlp --version "$VERSION"

echo "== verifying the bundle"
modelship verify "$STATE/bundles/sample-mlp/$VERSION" --key "$STATE/keys/release.pub.pem"

cat <<MSG

Done. The Temporal Web UI shows this release and every step of it:
  http://localhost:8233/namespaces/default/workflows?query=ModelName%3D%22sample-mlp%22
The dev server keeps running (data in .modelship/temporal); stop it with: npm run temporal:stop
MSG
