#!/usr/bin/env bash
# Stop the registry started by registry/start.sh for a data dir. SIGTERM, up to 10 s, then
# SIGKILL. Exits 0 if nothing runs. The storage is left in place.
#
#   registry/stop.sh [--data-dir D]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
. "$ROOT/scripts/lib/daemon.sh"
daemon_stop_command registry "*registry*serve*" 10 "${MODELSHIP_REGISTRY_DATA_DIR:-$ROOT/.modelship/registry}" registry "$@"
