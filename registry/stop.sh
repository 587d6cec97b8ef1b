#!/usr/bin/env bash
# Stop the registry started by registry/start.sh for a data dir. SIGTERM, up to 10 s, then
# SIGKILL. Exits 0 if nothing runs. The storage is left in place.
#
#   registry/stop.sh [--data-dir D]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
. "$ROOT/scripts/lib/daemon.sh"
DATA_DIR="${MODELSHIP_REGISTRY_DATA_DIR:-$ROOT/.modelship/registry}"
GRACE_SECONDS=10

usage() { echo "usage: $0 [--data-dir D]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) [ $# -ge 2 ] || usage; DATA_DIR="$2"; shift 2 ;;
    --data-dir=*) DATA_DIR="${1#*=}"; shift ;;
    -h|--help) usage ;;
    *) echo "stop.sh: unknown argument: $1" >&2; usage ;;
  esac
done

daemon_stop registry "*registry*serve*" "$GRACE_SECONDS" "$DATA_DIR" "$DATA_DIR/registry.pid" "$DATA_DIR/registry.address"
