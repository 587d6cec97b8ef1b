#!/usr/bin/env bash
# Stop the Temporal dev server started by temporal/start.sh for a data dir.
#
#   temporal/stop.sh [--data-dir D]
#
# SIGTERM, wait up to 20 s for a clean shutdown (SQLite gets flushed), then
# SIGKILL. Exits 0 if nothing is running. The database is left in place.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
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

PIDFILE="$DATA_DIR/server.pid"
ADDRFILE="$DATA_DIR/server.address"

# Same check as start.sh: alive AND a temporal dev server (pids get reused).
is_server() {
  [[ "$1" =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null \
    && [[ "$(ps -o args= -p "$1" 2>/dev/null || true)" == *start-dev* ]]
}

pid=""
[ -s "$PIDFILE" ] && pid="$(head -n1 "$PIDFILE" | tr -dc '0-9')"
if [ -z "$pid" ] || ! is_server "$pid"; then
  echo "Temporal dev server not running (data dir $DATA_DIR)"
  rm -f "$PIDFILE" "$ADDRFILE"
  exit 0
fi

kill -TERM "$pid" 2>/dev/null || true
deadline=$((SECONDS + GRACE_SECONDS))
while is_server "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done

how="stopped"
if is_server "$pid"; then
  echo "stop.sh: pid $pid ignored SIGTERM for ${GRACE_SECONDS}s; sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do is_server "$pid" || break; sleep 0.1; done
  how="killed"
fi

rm -f "$PIDFILE" "$ADDRFILE"
echo "Temporal dev server $how (pid $pid, data dir $DATA_DIR)"
