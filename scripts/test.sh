#!/usr/bin/env bash
# The test command (npm test): sets up what is missing, then runs every test with node's
# built-in runner. Integration tests start their own Temporal dev servers on free ports.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
bash scripts/setup.sh
exec node --test "$@" dist/test/*.test.js
