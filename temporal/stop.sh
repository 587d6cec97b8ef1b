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
DATA_DIR="${MODELSHIP_TEMPORAL_DATA_DIR:-$ROOT/.modelship/temporal}"
GRACE_SECONDS=20

usage() { echo "usage: $0 [--data-dir D]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) [ $# -ge 2 ] || usage; DATA_DIR="$2"; shift 2 ;;
    --data-dir=*) DATA_DIR="${1#*=}"; shift ;;
    -h|--help) usage ;;
    *) echo "stop.sh: unknown argument: $1" >&2; usage ;;
  esac
done

daemon_stop "Temporal dev server" "*start-dev*" "$GRACE_SECONDS" "$DATA_DIR" "$DATA_DIR/server.pid" "$DATA_DIR/server.address"
