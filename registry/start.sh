#!/usr/bin/env bash
# Start a local OCI registry (CNCF distribution v3.1.2, built by registry/install.sh), detached,
# and wait until it answers /v2/.
#
#   registry/start.sh [--port P] [--ip IP] [--data-dir D] [--htpasswd FILE]
#                     [--token-realm URL --token-service S --token-issuer I --token-cert PEM]
#                     [--tls-cert PEM --tls-key PEM]
#
# Files in the data dir D (default .modelship/registry): config.yml (generated on every start),
# storage/ (the blobs and manifests, kept across restarts), registry.log, registry.pid and
# registry.address (host:port of the running registry, for a repeated start or a test helper).
# With --htpasswd, clients need basic-auth credentials from that file (bcrypt entries, made
# with `htpasswd -Bbn user password`). With --token-*, clients need a bearer token from the
# token server at URL (Docker token auth: JWTs signed by the key of the certificate PEM). With
# --tls-cert/--tls-key, the registry speaks HTTPS only, with that certificate (clients trust its
# CA with MODELSHIP_REGISTRY_CA_FILE, or `oras --ca-file`). Idempotent: a healthy registry already running for D
# is reported and left alone.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
. "$ROOT/scripts/lib/daemon.sh"
PORT="${MODELSHIP_REGISTRY_PORT:-5000}"
IP="127.0.0.1"
DATA_DIR="${MODELSHIP_REGISTRY_DATA_DIR:-$ROOT/.modelship/registry}"
HTPASSWD=""
TOKEN_REALM="" TOKEN_SERVICE="" TOKEN_ISSUER="" TOKEN_CERT=""
TLS_CERT="" TLS_KEY=""
READY_TIMEOUT=30

die() { echo "start.sh: $*" >&2; exit 1; }
usage() { echo "usage: $0 [--port P] [--ip IP] [--data-dir D] [--htpasswd FILE] [--token-realm URL --token-service S --token-issuer I --token-cert PEM] [--tls-cert PEM --tls-key PEM]" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --port) [ $# -ge 2 ] || usage; PORT="$2"; shift 2 ;;
    --port=*) PORT="${1#*=}"; shift ;;
    --ip) [ $# -ge 2 ] || usage; IP="$2"; shift 2 ;;
    --ip=*) IP="${1#*=}"; shift ;;
    --data-dir) [ $# -ge 2 ] || usage; DATA_DIR="$2"; shift 2 ;;
    --data-dir=*) DATA_DIR="${1#*=}"; shift ;;
    --htpasswd) [ $# -ge 2 ] || usage; HTPASSWD="$2"; shift 2 ;;
    --htpasswd=*) HTPASSWD="${1#*=}"; shift ;;
    --token-realm) [ $# -ge 2 ] || usage; TOKEN_REALM="$2"; shift 2 ;;
    --token-service) [ $# -ge 2 ] || usage; TOKEN_SERVICE="$2"; shift 2 ;;
    --token-issuer) [ $# -ge 2 ] || usage; TOKEN_ISSUER="$2"; shift 2 ;;
    --token-cert) [ $# -ge 2 ] || usage; TOKEN_CERT="$2"; shift 2 ;;
    --tls-cert) [ $# -ge 2 ] || usage; TLS_CERT="$2"; shift 2 ;;
    --tls-key) [ $# -ge 2 ] || usage; TLS_KEY="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "start.sh: unknown argument: $1" >&2; usage ;;
  esac
done

[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "invalid port: $PORT"
if [ -n "$HTPASSWD" ]; then
  [ -f "$HTPASSWD" ] || die "htpasswd file $HTPASSWD does not exist (make one with: htpasswd -Bbc FILE user password)"
  HTPASSWD="$(cd "$(dirname "$HTPASSWD")" && pwd -P)/$(basename "$HTPASSWD")"
  grep -qE '^[^:]+:\$2[aby]\$' "$HTPASSWD" || die "$HTPASSWD has no bcrypt entries; distribution accepts bcrypt only (htpasswd -B)"
fi

if [ -n "$TOKEN_REALM$TOKEN_SERVICE$TOKEN_ISSUER$TOKEN_CERT" ]; then
  [ -n "$TOKEN_REALM" ] && [ -n "$TOKEN_SERVICE" ] && [ -n "$TOKEN_ISSUER" ] && [ -n "$TOKEN_CERT" ] \
    || die "token auth needs all of --token-realm, --token-service, --token-issuer and --token-cert"
  [ -z "$HTPASSWD" ] || die "choose one of --htpasswd and --token-*"
  [ -f "$TOKEN_CERT" ] || die "token certificate $TOKEN_CERT does not exist"
  TOKEN_CERT="$(cd "$(dirname "$TOKEN_CERT")" && pwd -P)/$(basename "$TOKEN_CERT")"
fi

if [ -n "$TLS_CERT$TLS_KEY" ]; then
  [ -n "$TLS_CERT" ] && [ -n "$TLS_KEY" ] || die "TLS needs both --tls-cert and --tls-key"
  for f in "$TLS_CERT" "$TLS_KEY"; do [ -f "$f" ] || die "TLS file $f does not exist"; done
  TLS_CERT="$(cd "$(dirname "$TLS_CERT")" && pwd -P)/$(basename "$TLS_CERT")"
  TLS_KEY="$(cd "$(dirname "$TLS_KEY")" && pwd -P)/$(basename "$TLS_KEY")"
fi
SCHEME=http; [ -n "$TLS_CERT" ] && SCHEME=https

mkdir -p "$DATA_DIR"
DATA_DIR="$(cd "$DATA_DIR" && pwd -P)"
CONFIG="$DATA_DIR/config.yml"
LOG="$DATA_DIR/registry.log"
PIDFILE="$DATA_DIR/registry.pid"
ADDRFILE="$DATA_DIR/registry.address"
mkdir -p "$DATA_DIR/storage"

BIN="$(bash "$ROOT/registry/install.sh")" || die "no registry binary available (see above)"

case "$IP" in *:*) ADDRESS="[$IP]:$PORT" ;; *) ADDRESS="$IP:$PORT" ;; esac
connect="$ADDRESS"; [ "$IP" = "0.0.0.0" ] && connect="127.0.0.1:$PORT"

# Ready means /v2/ answers: 200 without auth, 401 with it.
ready() { # ready HOST:PORT
  local code
  # -k: this checks that the registry answers, not who signed its certificate (clients do that).
  code="$(curl -s -k -o /dev/null -m 2 -w '%{http_code}' "$SCHEME://$1/v2/" 2>/dev/null || true)"
  [ "$code" = 200 ] || [ "$code" = 401 ]
}

PATTERN="*registry*serve*"
is_registry() { daemon_is "$1" "$PATTERN"; }
wait_ready() { daemon_wait "$1" "$PATTERN" "$READY_TIMEOUT" 0.2 ready "$2"; } # wait_ready PID ADDR

fail() { # fail MESSAGE [PID]
  echo "start.sh: $1" >&2
  [ -f "$LOG" ] && { echo "--- last 20 lines of $LOG ---" >&2; tail -n 20 "$LOG" >&2; }
  if [ -n "${2:-}" ] && is_registry "$2"; then kill -KILL "$2" 2>/dev/null || true; rm -f "$PIDFILE" "$ADDRFILE"; fi
  exit 1
}

pid="$(daemon_recorded_pid "$PIDFILE" || true)"
if [ -n "$pid" ] && is_registry "$pid"; then
  running="$(head -n1 "$ADDRFILE" 2>/dev/null || echo "$connect")"
  if ready "$running" || wait_ready "$pid" "$running"; then
    echo "registry already running at $running (pid $pid, data $DATA_DIR)"
    [ "$running" = "$connect" ] || echo "start.sh: note: requested $connect; run registry/stop.sh --data-dir $DATA_DIR first to change it" >&2
    exit 0
  fi
  fail "registry pid $pid for $DATA_DIR runs but does not answer at $running; try registry/stop.sh --data-dir $DATA_DIR"
fi
rm -f "$PIDFILE" "$ADDRFILE"

port_busy() { (: <>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }
port_busy "$connect" && die "port $PORT on $IP is already in use (pick another with --port)"

# The config is generated each start so flags always win over a stale file.
{
  echo "version: 0.1"
  echo "log:"
  echo "  level: info"
  echo "  accesslog:"
  echo "    disabled: true"
  echo "  fields:"
  echo "    service: modelship-registry"
  echo "storage:"
  echo "  filesystem:"
  echo "    rootdirectory: $DATA_DIR/storage"
  echo "  delete:"
  echo "    enabled: true"
  echo "http:"
  echo "  addr: $ADDRESS"
  echo "  secret: $(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
  echo "  headers:"
  echo "    X-Content-Type-Options: [nosniff]"
  if [ -n "$TLS_CERT" ]; then
    echo "  tls:"
    echo "    certificate: $TLS_CERT"
    echo "    key: $TLS_KEY"
  fi
  if [ -n "$HTPASSWD" ]; then
    echo "auth:"
    echo "  htpasswd:"
    echo "    realm: modelship-registry"
    echo "    path: $HTPASSWD"
  fi
  if [ -n "$TOKEN_REALM" ]; then
    echo "auth:"
    echo "  token:"
    echo "    realm: $TOKEN_REALM"
    echo "    service: $TOKEN_SERVICE"
    echo "    issuer: $TOKEN_ISSUER"
    echo "    rootcertbundle: $TOKEN_CERT"
  fi
} > "$CONFIG"
chmod 600 "$CONFIG"

echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) start.sh: $BIN serve $CONFIG" >> "$LOG"
# distribution v3 exports OpenTelemetry traces over OTLP by default, to localhost:4318: where
# nothing listens it logs an error every 5 s, and where Jaeger does (the tracing tests) the
# registry's spans would land among modelship's. Off unless the caller asks for an exporter.
pid="$(OTEL_TRACES_EXPORTER="${MODELSHIP_REGISTRY_TRACES_EXPORTER:-none}" daemon_launch "$PIDFILE" "$LOG" "$BIN" serve "$CONFIG")" || fail "registry did not record its pid in $PIDFILE"
echo "$connect" > "$ADDRFILE"

if ! wait_ready "$pid" "$connect"; then
  is_registry "$pid" && fail "registry pid $pid not answering /v2/ at $connect after ${READY_TIMEOUT}s" "$pid"
  rm -f "$PIDFILE" "$ADDRFILE"
  fail "registry exited during startup"
fi
auth="no auth"; [ -n "$HTPASSWD" ] && auth="basic auth from $HTPASSWD"; [ -n "$TOKEN_REALM" ] && auth="bearer tokens from $TOKEN_REALM"
echo "registry ready at $connect ($SCHEME, $auth, data $DATA_DIR)"
