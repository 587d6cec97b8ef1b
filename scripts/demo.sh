#!/usr/bin/env bash
# The main job (npm run demo): installs what is missing, starts the Temporal dev server
# (Web UI on 8233), the serving runtime, a worker and a load generator, then releases the
# sample model three times: v1 goes to stable, a good v2 is promoted after its canary steps, a
# bad v3 is rolled back automatically. v2's report (open it in a browser): $STATE/demo/report-v2.html
# The dev server keeps running afterwards for the Web UI.
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

# The serving runtime: a fresh state folder per demo, trusting the release key.
SERVING_DIR="$STATE/demo/serving"
rm -rf "$SERVING_DIR" && mkdir -p "$SERVING_DIR"
(umask 077 && node -e "process.stdout.write(require('crypto').randomBytes(32).toString('hex'))" > "$STATE/demo/serving-admin.key")
export MODELSHIP_SERVING_ADMIN_KEY_FILE="$STATE/demo/serving-admin.key"
export MODELSHIP_SERVING_URL="http://127.0.0.1:${MODELSHIP_SERVING_PORT:-8300}"
PIDS=()
stop_all() { for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done; }
trap stop_all EXIT

echo "== starting the serving runtime on $MODELSHIP_SERVING_URL (log: .modelship/demo/serving.log)"
MODELSHIP_LOG_FORMAT=json node "$ROOT/bin/modelship.js" serve --state-dir "$SERVING_DIR" --trusted-keys-dir "$STATE/keys" --admin-key-file "$MODELSHIP_SERVING_ADMIN_KEY_FILE" >> "$STATE/demo/serving.log" 2>&1 &
PIDS+=($!)
node -e "const u=process.argv[1];(async()=>{for(let i=0;i<150;i++){try{if((await fetch(u)).ok)return}catch{}await new Promise(r=>setTimeout(r,200))}console.error('serving runtime did not start: see .modelship/demo/serving.log');process.exit(1)})()" "$MODELSHIP_SERVING_URL/healthz"

METRICS_URL="http://127.0.0.1:${MODELSHIP_WORKER_METRICS_PORT:-9464}/metrics"
echo "== starting a modelship worker, metrics at $METRICS_URL (log: .modelship/demo/worker.log)"
MODELSHIP_WORKER_METRICS_PORT="${MODELSHIP_WORKER_METRICS_PORT:-9464}" MODELSHIP_LOG_FORMAT=json node dist/src/worker.js >> "$STATE/demo/worker.log" 2>&1 &
PIDS+=($!)

RUN="$(date -u +%Y%m%d%H%M%S)"
PLAN=models/demo/canary-plan.json
echo
echo "== v1: releasing models/sample/sample-mlp.onnx as sample-mlp@1.0.0-demo.$RUN (first version: straight to stable)"
modelship release models/sample/sample-mlp.onnx --name sample-mlp --version "1.0.0-demo.$RUN" --canary "$PLAN"
# The release lives in the bundle store (an OCI layout folder here; a registry with MODELSHIP_STORE):
# its pinned reference is in the ModelReference search attribute.
V1_REF="$(modelship status "release-sample-mlp-1.0.0-demo.$RUN" --json | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => process.stdout.write(JSON.parse(s).attributes.ModelReference))')"
V1_BUNDLE="$STATE/demo/bundle-v1-$RUN"

echo
echo "== verifying the v1 release in the store, then pulling it into a folder ($V1_REF)"
modelship verify "$V1_REF" --key "$STATE/keys/release.pub.pem"
modelship pull "$V1_REF" "$V1_BUNDLE"

echo
echo "== traffic: modelship load sends seeded requests while the canaries bake (log: .modelship/demo/load.log)"
node "$ROOT/bin/modelship.js" load sample-mlp --bundle "$V1_BUNDLE" --rate 120 --duration 600 >> "$STATE/demo/load.log" 2>&1 &
PIDS+=($!)

echo
echo "== v2: a good release, canary 20% then 50%, analysed against stable at each bake"
modelship release models/sample/sample-mlp.onnx --name sample-mlp --version "2.0.0-demo.$RUN" --canary "$PLAN"

echo
echo "== v3: a bad release (shifted output bias: predictions disagree with v2); the canary must roll it back"
if modelship release models/demo/sample-mlp-divergent.onnx --name sample-mlp --version "3.0.0-demo.$RUN" --canary "$PLAN"; then
  echo "demo: v3 was promoted, but it should have been rolled back" >&2
  exit 1
fi
echo "(v3 rolled back, as it should: the reason and the figures are above and in the Web UI)"

echo
echo "== the demo's releases (modelship list), and v2's report (modelship report: stages, verification, canary charts, decisions)"
modelship list --model sample-mlp --limit 6
modelship report "release-sample-mlp-2.0.0-demo.$RUN" -o "$STATE/demo/report-v2.html"

echo
echo "== the worker's metrics: releases by outcome ($METRICS_URL, with stage durations, bytes hashed and Temporal's temporal_* metrics)"
node -e "fetch(process.argv[1]).then((r) => r.text()).then((t) => console.log(t.split('\n').filter((l) => l.startsWith('modelship_releases_total')).join('\n')))" "$METRICS_URL" || echo "(metrics not readable: see .modelship/demo/worker.log)"

cat <<MSG

Done. The Temporal Web UI shows the three releases, every step, and every canary decision with its figures:
  http://localhost:8233/namespaces/default/workflows?query=ModelName%3D%22sample-mlp%22
  rolled back: http://localhost:8233/namespaces/default/workflows?query=ReleaseStage%3D%22rolled_back%22
The dev server keeps running (data in .modelship/temporal); stop it with: npm run temporal:stop
MSG
