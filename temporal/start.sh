#!/usr/bin/env bash
# Start a local Temporal dev server (detached) with the project's search
# attributes and a persistent SQLite store, and wait until it is healthy.
#
#   temporal/start.sh [--port P] [--ui-port U] [--data-dir D] [--headless] [--ip IP] [--ui-codec-endpoint URL]
#
# --ui-codec-endpoint: the Web UI decodes payloads through this codec server (modelship codec-server).
#
# Files in the data dir D: temporal.db (state, reused across restarts),
# server.log, server.pid, server.address (address + UI URL of the running
# server, so a repeated start or a test helper can find it).
# Idempotent: if the server recorded in D is alive and healthy, says so and exits 0.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
. "$ROOT/scripts/lib/daemon.sh"

PORT="${MODELSHIP_TEMPORAL_PORT:-7233}"
UI_PORT="${MODELSHIP_TEMPORAL_UI_PORT:-8233}"
DATA_DIR="${MODELSHIP_TEMPORAL_DATA_DIR:-$ROOT/.modelship/temporal}"
IP="127.0.0.1"
HEADLESS=0
UI_CODEC_ENDPOINT="${MODELSHIP_TEMPORAL_UI_CODEC_ENDPOINT:-}"
HEALTH_TIMEOUT=60

die() { echo "start.sh: $*" >&2; exit 1; }
usage() { echo "usage: $0 [--port P] [--ui-port U] [--data-dir D] [--headless] [--ip IP] [--ui-codec-endpoint URL]" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --port) [ $# -ge 2 ] || usage; PORT="$2"; shift 2 ;;
    --port=*) PORT="${1#*=}"; shift ;;
    --ui-port) [ $# -ge 2 ] || usage; UI_PORT="$2"; shift 2 ;;
    --ui-port=*) UI_PORT="${1#*=}"; shift ;;
    --data-dir) [ $# -ge 2 ] || usage; DATA_DIR="$2"; shift 2 ;;
    --data-dir=*) DATA_DIR="${1#*=}"; shift ;;
    --ip) [ $# -ge 2 ] || usage; IP="$2"; shift 2 ;;
    --ip=*) IP="${1#*=}"; shift ;;
    --headless) HEADLESS=1; shift ;;
    --ui-codec-endpoint) [ $# -ge 2 ] || usage; UI_CODEC_ENDPOINT="$2"; shift 2 ;;
    --ui-codec-endpoint=*) UI_CODEC_ENDPOINT="${1#*=}"; shift ;;
    -h|--help) usage ;;
    *) echo "start.sh: unknown argument: $1" >&2; usage ;;
  esac
done

for p in "$PORT" "$UI_PORT"; do
  [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "invalid port: $p"
done

# Absolute data dir: the server is detached and must not depend on our cwd.
mkdir -p "$DATA_DIR"
DATA_DIR="$(cd "$DATA_DIR" && pwd -P)"
DB="$DATA_DIR/temporal.db"
LOG="$DATA_DIR/server.log"
PIDFILE="$DATA_DIR/server.pid"
ADDRFILE="$DATA_DIR/server.address"
SA_FILE="$ROOT/temporal/search-attributes.txt"

# IPv6 literals need brackets in host:port and URLs.
hostport() { case "$1" in *:*) echo "[$1]:$2" ;; *) echo "$1:$2" ;; esac; }
ADDRESS="$(hostport "$IP" "$PORT")"
case "$IP" in
  127.0.0.1|0.0.0.0|localhost|::1|::) UI_URL="http://localhost:$UI_PORT" ;;
  *) UI_URL="http://$(hostport "$IP" "$UI_PORT")" ;;
esac

BIN="$(bash "$ROOT/temporal/install.sh")" || die "no temporal CLI available (see above)"

# Keep a developer's TEMPORAL_* env / config profile (e.g. Cloud TLS or API
# key) from leaking into our health checks against the local dev server.
ISOLATE=()
if [[ "$("$BIN" options 2>/dev/null || true)" == *--disable-config-env* ]]; then
  ISOLATE=(--disable-config-env --disable-config-file)
fi

healthy() { # healthy ADDRESS
  local out
  out="$("$BIN" operator cluster health --address "$1" ${ISOLATE[@]+"${ISOLATE[@]}"} 2>/dev/null || true)"
  [[ "$out" == *SERVING* ]]
}

PATTERN="*start-dev*"
is_server() { daemon_is "$1" "$PATTERN"; }
# Wait until PID serves on ADDR, or it dies, or the timeout passes.
wait_healthy() { daemon_wait "$1" "$PATTERN" "$HEALTH_TIMEOUT" 0.5 healthy "$2"; } # wait_healthy PID ADDR

fail() { # fail MESSAGE [PID-to-kill]
  echo "start.sh: $1" >&2
  if [ -f "$LOG" ]; then
    echo "--- last 30 lines of $LOG ---" >&2
    tail -n 30 "$LOG" >&2
  fi
  # Do not leave a half-started server holding the ports and the database.
  if [ -n "${2:-}" ] && is_server "$2"; then
    kill -KILL "$2" 2>/dev/null || true
    rm -f "$PIDFILE" "$ADDRFILE"
  fi
  exit 1
}

# --- Already running for this data dir? -------------------------------------
pid="$(daemon_recorded_pid "$PIDFILE" || true)"
if [ -n "$pid" ] && is_server "$pid"; then
  running_addr="$ADDRESS"; running_ui="$UI_URL"
  if [ -s "$ADDRFILE" ]; then
    { read -r running_addr; read -r running_ui || true; } < "$ADDRFILE"
  fi
  # Alive but not healthy yet usually means another start.sh is still booting
  # it; wait rather than start a second server on the same database.
  if healthy "$running_addr" || wait_healthy "$pid" "$running_addr"; then
    echo "Temporal dev server already running at $running_addr (pid $pid, Web UI $running_ui, data $DB)"
    if [ "$running_addr" != "$ADDRESS" ]; then
      echo "start.sh: note: requested $ADDRESS; run temporal/stop.sh --data-dir $DATA_DIR first to change it" >&2
    fi
    exit 0
  fi
  fail "server pid $pid for $DATA_DIR is running but not healthy at $running_addr; try temporal/stop.sh --data-dir $DATA_DIR"
fi
rm -f "$PIDFILE" "$ADDRFILE"   # stale

# Fail fast and clearly if someone else holds our ports (otherwise the health
# check could even succeed against a different server on the same port).
port_busy() { (: <>"/dev/tcp/$1/$2") 2>/dev/null; }
connect_ip="$IP"; [ "$IP" = "0.0.0.0" ] && connect_ip=127.0.0.1
[ "$IP" = "::" ] && connect_ip=::1
port_busy "$connect_ip" "$PORT" && die "port $PORT on $IP is already in use (pick another with --port)"
if [ "$HEADLESS" -eq 0 ] && port_busy "$connect_ip" "$UI_PORT"; then
  die "UI port $UI_PORT on $IP is already in use (pick another with --ui-port, or --headless)"
fi

# --- Build the command line -------------------------------------------------
args=(server start-dev --db-filename "$DB" --ip "$IP" --port "$PORT" --ui-port "$UI_PORT"
      --namespace default --log-level warn)
[ "$HEADLESS" -eq 1 ] && args+=(--headless)
[ -n "$UI_CODEC_ENDPOINT" ] && args+=(--ui-codec-endpoint "$UI_CODEC_ENDPOINT")

# Passed on every start; on an existing database the dev server does not add
# attributes that are new since it was created, so they are added below too.
[ -f "$SA_FILE" ] || die "missing $SA_FILE"
search_attributes=()
while IFS= read -r line || [ -n "$line" ]; do
  line="${line%%#*}"
  read -r name type extra <<< "$line" || true
  [ -n "${name:-}" ] || continue
  [ -n "${type:-}" ] && [ -z "${extra:-}" ] || die "$SA_FILE: expected 'Name Type', got: $line"
  args+=(--search-attribute "$name=$type")
  search_attributes+=("$name=$type")
done < "$SA_FILE"

# --- Launch, detached -------------------------------------------------------
echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) start.sh: $BIN ${args[*]}" >> "$LOG"
pid="$(daemon_launch "$PIDFILE" "$LOG" "$BIN" "${args[@]}")" || fail "server did not record its pid in $PIDFILE"
printf '%s\n%s\n' "$ADDRESS" "$([ "$HEADLESS" -eq 1 ] && echo disabled || echo "$UI_URL")" > "$ADDRFILE"

if ! wait_healthy "$pid" "$ADDRESS"; then
  if is_server "$pid"; then
    fail "server pid $pid not healthy at $ADDRESS after ${HEALTH_TIMEOUT}s" "$pid"
  fi
  rm -f "$PIDFILE" "$ADDRFILE"
  fail "server exited during startup"
fi

# A database made by an older modelship lacks the attributes added since: add them.
registered="$("$BIN" operator search-attribute list --address "$ADDRESS" --namespace default 2>/dev/null || true)"
for pair in "${search_attributes[@]}"; do
  name="${pair%%=*}"
  if ! grep -qE "^[[:space:]]*$name[[:space:]]" <<< "$registered"; then
    "$BIN" operator search-attribute create --address "$ADDRESS" --namespace default --name "$name" --type "${pair#*=}" >> "$LOG" 2>&1 \
      || fail "could not register search attribute $name on $ADDRESS (see $LOG)" "$pid"
    echo "registered search attribute $name (${pair#*=}) on the existing database" >&2
  fi
done

if [ "$HEADLESS" -eq 1 ]; then ui="Web UI disabled"; else ui="Web UI $UI_URL"; fi
echo "Temporal dev server ready at $ADDRESS ($ui, data $DB)"
