#!/usr/bin/env bash
# Start a real Temporal cluster on this machine, detached: the Temporal server built by
# temporal/cluster/install.sh (all four services in one process) on a private PostgreSQL
# (persistence and SQL visibility), mTLS on every connection, and a dedicated namespace with a
# retention period. The dev server (temporal/start.sh) stays the default for the demo.
#
#   temporal/cluster/start.sh [--port P] [--pg-port Q] [--internal-port-base B] [--data-dir D]
#                             [--namespace N] [--retention DURATION]
#
# --port: the frontend (gRPC, mTLS), default 7933 (the dev server has 7233).
# --pg-port: PostgreSQL on 127.0.0.1, default 7932.
# --internal-port-base: B..B+8 for history, matching, worker, membership, HTTP and metrics
#   (default P+1; the membership ports B+3..B+6 must be at most 32767).
# --namespace / --retention: created if missing (default modelship, 72h).
#
# Files in the data dir D (default .modelship/cluster): certs/ (ca.pem, server.*, client.pem,
# client.key: made on the first start), pg/ (the PostgreSQL cluster), pg.log, db-password,
# config/temporal.yaml (written on every start), server.log, server.pid, server.address.
# Idempotent: a healthy cluster already running for D is reported and left alone. Prints the
# address and the client certificate, key and CA; `temporal/cluster/start.sh --env` prints
# them as TEMPORAL_* variables to eval.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
. "$ROOT/scripts/lib/daemon.sh"

PORT="${MODELSHIP_CLUSTER_PORT:-7933}"
PG_PORT="${MODELSHIP_CLUSTER_PG_PORT:-7932}"
BASE="${MODELSHIP_CLUSTER_INTERNAL_PORT_BASE:-}"
DATA_DIR="${MODELSHIP_CLUSTER_DATA_DIR:-$ROOT/.modelship/cluster}"
NAMESPACE="${MODELSHIP_CLUSTER_NAMESPACE:-modelship}"
RETENTION="${MODELSHIP_CLUSTER_RETENTION:-72h}"
VERSION="${MODELSHIP_TEMPORAL_SERVER_VERSION:-v1.31.2}"
PRINT_ENV=0
READY_TIMEOUT=120

die() { echo "cluster/start.sh: $*" >&2; exit 1; }
usage() { echo "usage: $0 [--port P] [--pg-port Q] [--internal-port-base B] [--data-dir D] [--namespace N] [--retention DURATION] [--env]" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --port) [ $# -ge 2 ] || usage; PORT="$2"; shift 2 ;;
    --port=*) PORT="${1#*=}"; shift ;;
    --pg-port) [ $# -ge 2 ] || usage; PG_PORT="$2"; shift 2 ;;
    --pg-port=*) PG_PORT="${1#*=}"; shift ;;
    --internal-port-base) [ $# -ge 2 ] || usage; BASE="$2"; shift 2 ;;
    --internal-port-base=*) BASE="${1#*=}"; shift ;;
    --data-dir) [ $# -ge 2 ] || usage; DATA_DIR="$2"; shift 2 ;;
    --data-dir=*) DATA_DIR="${1#*=}"; shift ;;
    --namespace) [ $# -ge 2 ] || usage; NAMESPACE="$2"; shift 2 ;;
    --namespace=*) NAMESPACE="${1#*=}"; shift ;;
    --retention) [ $# -ge 2 ] || usage; RETENTION="$2"; shift 2 ;;
    --retention=*) RETENTION="${1#*=}"; shift ;;
    --env) PRINT_ENV=1; shift ;;
    -h|--help) usage ;;
    *) echo "cluster/start.sh: unknown argument: $1" >&2; usage ;;
  esac
done
BASE="${BASE:-$((PORT + 1))}"
for p in "$PORT" "$PG_PORT" "$BASE"; do
  [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65527 ] || die "invalid port: $p"
done
# The server stores membership ports in a PostgreSQL smallint (cluster_membership.rpc_port).
[ $((BASE + 6)) -le 32767 ] || die "internal ports $BASE..$((BASE + 8)) too high: the membership ports (B+3..B+6) must be at most 32767 (the server keeps them in a smallint); pick --internal-port-base"
[[ "$NAMESPACE" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "invalid namespace: $NAMESPACE"
[[ "$RETENTION" =~ ^[0-9]+(h|d|m|s)$ ]] || die "invalid retention: $RETENTION (e.g. 72h)"

mkdir -p "$DATA_DIR"
DATA_DIR="$(cd "$DATA_DIR" && pwd -P)"
CERTS="$DATA_DIR/certs"
PGDATA="$DATA_DIR/pg"
PGLOG="$DATA_DIR/pg.log"
PWFILE="$DATA_DIR/db-password"
CONFIG_DIR="$DATA_DIR/config"
CONFIG="$CONFIG_DIR/temporal.yaml"
LOG="$DATA_DIR/server.log"
PIDFILE="$DATA_DIR/server.pid"
ADDRFILE="$DATA_DIR/server.address"
ADDRESS="127.0.0.1:$PORT"

# The Web UI server is optional for a running cluster: setup.sh / install.sh build it.
TOOLS="$(MODELSHIP_CLUSTER_NO_UI=1 bash "$ROOT/temporal/cluster/install.sh")" || die "the cluster's tools are not installed (see above)"
SERVER="$TOOLS/temporal-server"
SQL_TOOL="$TOOLS/temporal-sql-tool"
TEMPORAL="$(bash "$ROOT/temporal/install.sh")" || die "no temporal CLI available (see above)"
SCHEMA="$(go env GOMODCACHE 2>/dev/null)/go.temporal.io/server@$VERSION/schema/postgresql/v12"
[ -d "$SCHEMA/temporal/versioned" ] || die "no schema at $SCHEMA (run temporal/cluster/install.sh)"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
[ -n "$PG_BIN" ] || die "PostgreSQL is not installed (run temporal/cluster/install.sh as root, or apt-get install postgresql)"

# PostgreSQL refuses to run as root: as root it runs as the postgres user (Debian's).
AS_PG=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "no postgres user (Debian's postgresql package makes it)"
  AS_PG=(runuser -u postgres --)
fi
pg() { ${AS_PG[@]+"${AS_PG[@]}"} "$@"; }

# The client side of every check: mTLS with the client certificate, never the caller's env.
tctl() {
  "$TEMPORAL" "$@" --address "$ADDRESS" --tls-cert-path "$CERTS/client.pem" --tls-key-path "$CERTS/client.key" \
    --tls-ca-path "$CERTS/ca.pem" --tls-server-name localhost --disable-config-env --disable-config-file
}
healthy() { [[ "$(tctl operator cluster health 2>/dev/null || true)" == *SERVING* ]]; }

PATTERN="*temporal-server*--config-file*$CONFIG*start*"
is_server() { daemon_is "$1" "$PATTERN"; }

report() { # report WHAT
  if [ "$PRINT_ENV" -eq 1 ]; then
    echo "export TEMPORAL_ADDRESS=$ADDRESS TEMPORAL_NAMESPACE=$NAMESPACE TEMPORAL_TLS=true TEMPORAL_TLS_SERVER_NAME=localhost"
    echo "export TEMPORAL_TLS_CLIENT_CERT_PATH=$CERTS/client.pem TEMPORAL_TLS_CLIENT_KEY_PATH=$CERTS/client.key TEMPORAL_TLS_SERVER_CA_CERT_PATH=$CERTS/ca.pem"
    return
  fi
  echo "Temporal cluster $1 at $ADDRESS (namespace $NAMESPACE, retention $RETENTION; PostgreSQL 127.0.0.1:$PG_PORT; data $DATA_DIR)"
  echo "  client certificate: $CERTS/client.pem"
  echo "  client key:         $CERTS/client.key"
  echo "  CA:                 $CERTS/ca.pem (server name localhost)"
}

fail() { # fail MESSAGE [PID]
  echo "cluster/start.sh: $1" >&2
  [ -f "$LOG" ] && { echo "--- last 30 lines of $LOG ---" >&2; tail -n 30 "$LOG" >&2; }
  if [ -n "${2:-}" ] && is_server "$2"; then kill -KILL "$2" 2>/dev/null || true; rm -f "$PIDFILE" "$ADDRFILE"; fi
  exit 1
}

# --- Already running for this data dir? ------------------------------------------------------
pid="$(daemon_recorded_pid "$PIDFILE" || true)"
if [ -n "$pid" ] && is_server "$pid"; then
  running="$(head -n1 "$ADDRFILE" 2>/dev/null || echo "$ADDRESS")"
  [ "$running" = "$ADDRESS" ] || die "a cluster for $DATA_DIR already runs at $running; run temporal/cluster/stop.sh --data-dir $DATA_DIR first to change the port"
  if healthy || daemon_wait "$pid" "$PATTERN" "$READY_TIMEOUT" 0.5 healthy; then
    report "already running (pid $pid)"
    exit 0
  fi
  fail "server pid $pid for $DATA_DIR runs but is not healthy at $ADDRESS; try temporal/cluster/stop.sh --data-dir $DATA_DIR"
fi
rm -f "$PIDFILE" "$ADDRFILE"

port_busy() { (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$PORT" $(seq "$BASE" $((BASE + 8))); do
  port_busy "$p" && die "port $p on 127.0.0.1 is already in use (pick others with --port / --internal-port-base)"
done

# --- Certificates: a CA, the server's (localhost, 127.0.0.1), a client's ------------------------
# Made once per data dir; EC P-256, valid 825 days. Keys are readable by their owner only.
leaf() { # leaf NAME CN EXTENDED-KEY-USAGE [SUBJECT-ALT-NAMES]
  local name="$1" cn="$2" eku="$3" san="${4:-}"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$CERTS/$name.key" 2>/dev/null
  chmod 600 "$CERTS/$name.key"
  openssl req -new -key "$CERTS/$name.key" -subj "/O=modelship/CN=$cn" -out "$CERTS/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } > "$CERTS/$name.ext"
  openssl x509 -req -in "$CERTS/$name.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" -CAcreateserial \
    -days 825 -sha256 -extfile "$CERTS/$name.ext" -out "$CERTS/$name.pem" 2>/dev/null
  rm -f "$CERTS/$name.csr" "$CERTS/$name.ext"
}
if [ ! -s "$CERTS/ca.pem" ] || [ ! -s "$CERTS/client.pem" ] || [ ! -s "$CERTS/server.pem" ] || [ ! -s "$CERTS/system-worker.pem" ]; then
  command -v openssl >/dev/null 2>&1 || die "openssl is needed to make the certificates (apt-get install openssl)"
  rm -rf "$CERTS"; mkdir -p "$CERTS"; chmod 700 "$CERTS"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$CERTS/ca.key" 2>/dev/null
  chmod 600 "$CERTS/ca.key"
  openssl req -x509 -new -key "$CERTS/ca.key" -subj "/O=modelship/CN=modelship local cluster CA" -days 825 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$CERTS/ca.pem" 2>/dev/null
  # The server's certificate serves the frontend and is the internode client's too.
  leaf server localhost serverAuth,clientAuth "DNS:localhost,IP:127.0.0.1"
  leaf system-worker temporal-system-worker clientAuth
  leaf client modelship-client clientAuth
  chmod 755 "$CERTS"   # the directory; the keys stay 600
  echo "made certificates in $CERTS (CA, server for localhost/127.0.0.1, client)" >&2
fi

# --- PostgreSQL --------------------------------------------------------------------------------
if [ ! -s "$PWFILE" ]; then
  (umask 077; openssl rand -hex 24 > "$PWFILE")
fi
PG_PASSWORD="$(cat "$PWFILE")"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  rm -rf "$PGDATA"; mkdir -p "$PGDATA"
  [ "$(id -u)" = 0 ] && chown postgres: "$PGDATA"
  pg test -w "$PGDATA" || die "the postgres user cannot write $PGDATA: every folder above it must be searchable by others (chmod o+x)"
  pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >> "$PGLOG.init" 2>&1 \
    || { cat "$PGLOG.init" >&2; die "initdb failed"; }
  echo "made a PostgreSQL cluster in $PGDATA" >&2
fi
[ "$(id -u)" = 0 ] && { touch "$PGLOG"; chown postgres: "$PGLOG"; }
if ! pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  port_busy "$PG_PORT" && die "port $PG_PORT on 127.0.0.1 is already in use (pick another with --pg-port)"
  # Its own port on 127.0.0.1 and its unix socket in the data dir: nothing shared with a system PostgreSQL.
  pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PGDATA -c max_connections=100" start >/dev/null \
    || { tail -n 20 "$PGLOG" >&2; die "PostgreSQL did not start (log $PGLOG)"; }
fi
psql_admin() { pg "$PG_BIN/psql" -h "$PGDATA" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
# The server's role: its password from the data dir, allowed to create its databases.
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname='temporal'")" != 1 ]; then
  psql_admin -c "CREATE ROLE temporal LOGIN CREATEDB PASSWORD '$PG_PASSWORD'" >/dev/null
fi

sqltool() { "$SQL_TOOL" --plugin postgres12 --ep 127.0.0.1 -p "$PG_PORT" -u temporal --pw "$PG_PASSWORD" "$@"; }
for db in temporal temporal_visibility; do
  dir="$SCHEMA/temporal/versioned"; [ "$db" = temporal_visibility ] && dir="$SCHEMA/visibility/versioned"
  if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname='$db'")" != 1 ]; then
    sqltool --db "$db" create-database >> "$DATA_DIR/schema.log" 2>&1 || { tail -n 20 "$DATA_DIR/schema.log" >&2; die "cannot create database $db"; }
    sqltool --db "$db" setup-schema -v 0.0 >> "$DATA_DIR/schema.log" 2>&1 || { tail -n 20 "$DATA_DIR/schema.log" >&2; die "setup-schema of $db failed"; }
  fi
  # Brings an existing database up to this server version's schema too (a no-op when it is).
  sqltool --db "$db" update-schema -d "$dir" >> "$DATA_DIR/schema.log" 2>&1 || { tail -n 20 "$DATA_DIR/schema.log" >&2; die "update-schema of $db from $dir failed"; }
done

# --- The server's configuration, from the template ----------------------------------------------
mkdir -p "$CONFIG_DIR"
(umask 077; sed \
  -e "s|@LOG_LEVEL@|${MODELSHIP_CLUSTER_LOG_LEVEL:-warn}|g" \
  -e "s|@PG_PORT@|$PG_PORT|g" -e "s|@PG_PASSWORD@|$PG_PASSWORD|g" -e "s|@CERTS@|$CERTS|g" \
  -e "s|@FRONTEND_PORT@|$PORT|g" \
  -e "s|@HISTORY_PORT@|$BASE|g" -e "s|@MATCHING_PORT@|$((BASE + 1))|g" -e "s|@WORKER_PORT@|$((BASE + 2))|g" \
  -e "s|@FRONTEND_MEMBERSHIP_PORT@|$((BASE + 3))|g" -e "s|@HISTORY_MEMBERSHIP_PORT@|$((BASE + 4))|g" \
  -e "s|@MATCHING_MEMBERSHIP_PORT@|$((BASE + 5))|g" -e "s|@WORKER_MEMBERSHIP_PORT@|$((BASE + 6))|g" \
  -e "s|@FRONTEND_HTTP_PORT@|$((BASE + 7))|g" -e "s|@METRICS_PORT@|$((BASE + 8))|g" \
  -e "s|@DYNAMIC_CONFIG@|$ROOT/temporal/cluster/dynamicconfig.yaml|g" \
  "$ROOT/temporal/cluster/config.template.yaml" > "$CONFIG")
grep -v "^ *#" "$CONFIG" | grep -q "@[A-Z_]*@" && die "unreplaced placeholder in $CONFIG: $(grep -v "^ *#" "$CONFIG" | grep -o "@[A-Z_]*@" | head -n1)"

# --- The server, detached ---------------------------------------------------------------------
echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) cluster/start.sh: $SERVER --config-file $CONFIG --allow-no-auth start" >> "$LOG"
pid="$(daemon_launch "$PIDFILE" "$LOG" "$SERVER" --config-file "$CONFIG" --allow-no-auth start)" \
  || fail "server did not record its pid in $PIDFILE"
echo "$ADDRESS" > "$ADDRFILE"
if ! daemon_wait "$pid" "$PATTERN" "$READY_TIMEOUT" 0.5 healthy; then
  is_server "$pid" && fail "server pid $pid not healthy at $ADDRESS after ${READY_TIMEOUT}s" "$pid"
  rm -f "$PIDFILE" "$ADDRFILE"
  fail "server exited during startup"
fi

# --- The namespace ----------------------------------------------------------------------------
if ! tctl operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
  tctl operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" \
    --description "modelship releases" >> "$LOG" 2>&1 \
    || fail "could not create namespace $NAMESPACE (see $LOG)" "$pid"
  echo "created namespace $NAMESPACE (retention $RETENTION)" >&2
fi
# A new namespace reaches the frontend's cache within seconds: wait until it takes calls.
ns_ready() { tctl workflow list --namespace "$NAMESPACE" --limit 1 >/dev/null 2>&1; }
daemon_wait "$pid" "$PATTERN" 60 0.5 ns_ready || fail "namespace $NAMESPACE does not take calls after 60s" "$pid"

report "ready (pid $pid)"
