#!/usr/bin/env bash
# Install the OCI registry modelship tests and multi-host setups use: Debian's `docker-registry`
# (CNCF distribution 2.8.2) and `htpasswd` (apache2-utils) for basic-auth users.
#
# Prints the registry binary's absolute path as the ONLY line on stdout (so callers can do
# BIN="$(bash registry/install.sh)"); everything else goes to stderr. Idempotent.
# Order: $MODELSHIP_REGISTRY_BIN > `docker-registry` on PATH > apt-get install (as root).
set -euo pipefail

say() { echo "registry: $*" >&2; }
die() { say "error: $*"; exit 1; }

if [ -n "${MODELSHIP_REGISTRY_BIN:-}" ]; then
  [ -x "$MODELSHIP_REGISTRY_BIN" ] || die "MODELSHIP_REGISTRY_BIN=$MODELSHIP_REGISTRY_BIN is not an executable file"
  echo "$MODELSHIP_REGISTRY_BIN"; exit 0
fi

need=()
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${need[*]} (Debian)"
    # Another apt may hold the lock on a shared machine: wait for it rather than fail.
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >&2 \
      || die "apt-get install ${need[*]} failed"
  else
    die "need ${need[*]}: run 'sudo apt-get install ${need[*]}' (or set MODELSHIP_REGISTRY_BIN to a distribution 'registry' binary)"
  fi
fi

bin="$(command -v docker-registry)"
"$bin" --version >/dev/null 2>&1 || die "$bin does not run ('--version' failed)"
echo "$bin"
