#!/usr/bin/env bash
# Stop the registry started by registry/start.sh for a data dir. SIGTERM, up to 10 s, then
# SIGKILL. Exits 0 if nothing runs. The storage is left in place.
#
#   registry/stop.sh [--data-dir D]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
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

PIDFILE="$DATA_DIR/registry.pid"
ADDRFILE="$DATA_DIR/registry.address"
is_registry() {
  [[ "$1" =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null \
    && [[ "$(ps -o args= -p "$1" 2>/dev/null || true)" == *registry*serve* ]]
}

pid=""
[ -s "$PIDFILE" ] && pid="$(head -n1 "$PIDFILE" | tr -dc '0-9')"
if [ -z "$pid" ] || ! is_registry "$pid"; then
  echo "registry not running (data dir $DATA_DIR)"
  rm -f "$PIDFILE" "$ADDRFILE"
  exit 0
fi
kill -TERM "$pid" 2>/dev/null || true
deadline=$((SECONDS + GRACE_SECONDS))
while is_registry "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
how="stopped"
if is_registry "$pid"; then
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do is_registry "$pid" || break; sleep 0.1; done
  how="killed"
fi
rm -f "$PIDFILE" "$ADDRFILE"
echo "registry $how (pid $pid, data dir $DATA_DIR)"
