#!/usr/bin/env bash
# Install what a real Temporal cluster needs (temporal/cluster/start.sh runs it):
#   - the Temporal server and its SQL schema tool, pinned by version, built with `go install`
#     into .modelship/tools (temporal-server, temporal-sql-tool);
#   - the Web UI server (temporalio/ui-server, pinned to the UI the temporal CLI bundles; the real
#     server ships no UI), built with `go install` into .modelship/tools/temporal-ui-server;
#   - PostgreSQL from Debian (apt-get, as root).
#
# Prints the tools folder as the ONLY line on stdout (so callers can do
# TOOLS="$(bash temporal/cluster/install.sh)"); everything else goes to stderr.
# Idempotent: a server already built at the pinned version is not rebuilt.
#
#   MODELSHIP_TEMPORAL_SERVER_VERSION  pin (default below); the module also holds the schema
#   MODELSHIP_TEMPORAL_UI_VERSION      pin of github.com/temporalio/ui-server/v2 (default below)
#   MODELSHIP_CLUSTER_NO_UI=1          skip the Web UI server
#   MODELSHIP_CLUSTER_NO_POSTGRES=1    skip PostgreSQL (build the server only)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
VERSION="${MODELSHIP_TEMPORAL_SERVER_VERSION:-v1.31.2}"
TOOLS="$ROOT/.modelship/tools"
SERVER="$TOOLS/temporal-server"
SQL_TOOL="$TOOLS/temporal-sql-tool"
STAMP="$TOOLS/temporal-server.version"
UI_VERSION="${MODELSHIP_TEMPORAL_UI_VERSION:-v2.54.1}"
UI_SERVER="$TOOLS/temporal-ui-server"
UI_STAMP="$TOOLS/temporal-ui-server.version"

say() { echo "cluster: $*" >&2; }
die() { say "error: $*"; exit 1; }

# --- The server and the schema tool ----------------------------------------------------------
if [ -x "$SERVER" ] && [ -x "$SQL_TOOL" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then
  :
else
  command -v go >/dev/null 2>&1 || die "building the Temporal server needs Go (https://go.dev/dl); then re-run $0"
  mkdir -p "$TOOLS"
  build="$(mktemp -d)"
  trap 'rm -rf "$build"' EXIT
  say "building go.temporal.io/server $VERSION (server and sql tool) with go install; takes about 5 minutes"
  GOBIN="$build" go install "go.temporal.io/server/cmd/server@$VERSION" "go.temporal.io/server/cmd/tools/sql@$VERSION" >&2 \
    || die "go install go.temporal.io/server/cmd/server@$VERSION failed (see above)"
  # Moved in only once both are built: a half-finished build never looks installed.
  mv -f "$build/server" "$SERVER"
  mv -f "$build/sql" "$SQL_TOOL"
  echo "$VERSION" > "$STAMP"
  say "built $SERVER and $SQL_TOOL ($VERSION)"
fi

# The module holds the schema (schema/postgresql/v12) start.sh applies: make sure it is in the
# module cache (it is after a build; `go mod download` brings it back after `go clean -modcache`).
if command -v go >/dev/null 2>&1; then
  moddir="$(go env GOMODCACHE)/go.temporal.io/server@$VERSION"
  [ -d "$moddir/schema/postgresql/v12" ] || go mod download "go.temporal.io/server@$VERSION" >&2 \
    || die "cannot download the go.temporal.io/server@$VERSION module (its schema/ is needed)"
fi

# --- The Web UI server (about a minute) ------------------------------------------------------
if [ -z "${MODELSHIP_CLUSTER_NO_UI:-}" ] && ! { [ -x "$UI_SERVER" ] && [ "$(cat "$UI_STAMP" 2>/dev/null)" = "$UI_VERSION" ]; }; then
  command -v go >/dev/null 2>&1 || die "building the Temporal UI server needs Go (https://go.dev/dl); then re-run $0"
  mkdir -p "$TOOLS"
  uibuild="$(mktemp -d)"
  say "building github.com/temporalio/ui-server/v2 $UI_VERSION (the Web UI for the cluster) with go install"
  GOBIN="$uibuild" go install "github.com/temporalio/ui-server/v2/cmd/server@$UI_VERSION" >&2 \
    || { rm -rf "$uibuild"; die "go install github.com/temporalio/ui-server/v2/cmd/server@$UI_VERSION failed (see above)"; }
  mv -f "$uibuild/server" "$UI_SERVER"
  rm -rf "$uibuild"
  echo "$UI_VERSION" > "$UI_STAMP"
  say "built $UI_SERVER ($UI_VERSION)"
fi

# --- PostgreSQL ------------------------------------------------------------------------------
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }
if [ -z "${MODELSHIP_CLUSTER_NO_POSTGRES:-}" ] && [ -z "$(pg_bin)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing postgresql (Debian)"
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql >&2 \
      || die "apt-get install postgresql failed"
  else
    die "need PostgreSQL: run 'sudo apt-get install postgresql' (Debian 12 has PostgreSQL 15)"
  fi
fi

echo "$TOOLS"
