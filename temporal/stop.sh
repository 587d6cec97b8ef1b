#!/usr/bin/env bash
# Stop the Temporal dev server started by temporal/start.sh for a data dir.
#
#   temporal/stop.sh [--data-dir D]
#
# SIGTERM, wait up to 20 s for a clean shutdown (SQLite gets flushed), then
# SIGKILL. Exits 0 if nothing is running. The database is left in place.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
. "$ROOT/scripts/lib/daemon.sh"
daemon_stop_command "Temporal dev server" "*start-dev*" 20 "${MODELSHIP_TEMPORAL_DATA_DIR:-$ROOT/.modelship/temporal}" server "$@"
