#!/usr/bin/env bash
# Stop the Temporal cluster started by temporal/cluster/start.sh for a data dir: the server
# (SIGTERM, up to 30 s, then SIGKILL), then its PostgreSQL (pg_ctl stop -m fast).
#
#   temporal/cluster/stop.sh [--data-dir D] [--server-only]
#
# --server-only: leave PostgreSQL running (restarting the server alone).
# Exits 0 if nothing is running. Certificates, databases and config stay in D.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
. "$ROOT/scripts/lib/daemon.sh"
DATA_DIR="${MODELSHIP_CLUSTER_DATA_DIR:-$ROOT/.modelship/cluster}"
SERVER_ONLY=0

usage() { echo "usage: $0 [--data-dir D] [--server-only]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) [ $# -ge 2 ] || usage; DATA_DIR="$2"; shift 2 ;;
    --data-dir=*) DATA_DIR="${1#*=}"; shift ;;
    --server-only) SERVER_ONLY=1; shift ;;
    -h|--help) usage ;;
    *) echo "cluster/stop.sh: unknown argument: $1" >&2; usage ;;
  esac
done
[ -d "$DATA_DIR" ] && DATA_DIR="$(cd "$DATA_DIR" && pwd -P)"

daemon_stop "Temporal cluster server" "*temporal-server*--config-file*$DATA_DIR/config/temporal.yaml*start*" 30 \
  "$DATA_DIR" "$DATA_DIR/server.pid" "$DATA_DIR/server.address"
[ "$SERVER_ONLY" -eq 1 ] && exit 0

PGDATA="$DATA_DIR/pg"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
if [ -z "$PG_BIN" ] || [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "PostgreSQL not running (no cluster in $PGDATA)"
  exit 0
fi
AS_PG=()
[ "$(id -u)" = 0 ] && AS_PG=(runuser -u postgres --)
if ${AS_PG[@]+"${AS_PG[@]}"} "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  ${AS_PG[@]+"${AS_PG[@]}"} "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null
  echo "PostgreSQL stopped (data $PGDATA)"
else
  echo "PostgreSQL not running (data $PGDATA)"
fi
