#!/usr/bin/env bash
# Install the OCI registry modelship tests, benches and multi-host setups use: CNCF distribution
# v3.1.2 (`registry`), built with `go install` into .modelship/tools, and `htpasswd`
# (apache2-utils) for basic-auth users.
#
# Why a build and not Debian's docker-registry: Debian 12 ships distribution 2.8.2 built with
# Go 1.19, whose SHA-256 has no SHA-NI path, and a registry hashes every byte pushed to it. That
# registry spent 4.2-4.5 s of CPU per GiB pushed, 57% of it hashing; the 1 GiB release through
# the registry was 1.5-1.9x the same release through a layout folder because of it (README,
# "Release time end to end").
#
# Prints the registry binary's absolute path as the ONLY line on stdout (so callers can do
# BIN="$(bash registry/install.sh)"); everything else goes to stderr. Idempotent: a binary of the
# pinned version is reused.
# Order: $MODELSHIP_REGISTRY_BIN > the pinned build in .modelship/tools > go install >
# `docker-registry` on PATH (distribution 2.8, with a warning).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
VERSION="v3.1.2"
TOOLS="$ROOT/.modelship/tools"
BIN="$TOOLS/registry"

say() { echo "registry: $*" >&2; }
die() { say "error: $*"; exit 1; }

# htpasswd makes the bcrypt entries distribution accepts (tests and the README's auth set-up).
if ! command -v htpasswd >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing apache2-utils (Debian) for htpasswd"
    # Another apt may hold the lock on a shared machine: wait for it rather than fail.
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq apache2-utils >&2 \
      || die "apt-get install apache2-utils failed"
  else
    say "warning: no htpasswd (sudo apt-get install apache2-utils); registries with basic auth cannot be set up"
  fi
fi

if [ -n "${MODELSHIP_REGISTRY_BIN:-}" ]; then
  [ -x "$MODELSHIP_REGISTRY_BIN" ] || die "MODELSHIP_REGISTRY_BIN=$MODELSHIP_REGISTRY_BIN is not an executable file"
  echo "$MODELSHIP_REGISTRY_BIN"; exit 0
fi

pinned() { [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q " ${VERSION}\b"; }

if ! pinned; then
  if command -v go >/dev/null 2>&1; then
    mkdir -p "$TOOLS"
    say "building distribution $VERSION with go install into $TOOLS (a few minutes the first time)"
    GOBIN="$TOOLS" GOFLAGS=-mod=mod go install "github.com/distribution/distribution/v3/cmd/registry@$VERSION" >&2 \
      || die "go install github.com/distribution/distribution/v3/cmd/registry@$VERSION failed (see above)"
    pinned || die "$BIN does not report $VERSION ('$BIN --version')"
  elif command -v docker-registry >/dev/null 2>&1; then
    bin="$(command -v docker-registry)"
    say "warning: Go is not installed, so using $bin (an older distribution; pushes hash slower). Install Go to build $VERSION."
    "$bin" --version >/dev/null 2>&1 || die "$bin does not run ('--version' failed)"
    echo "$bin"; exit 0
  else
    die "need Go to build distribution $VERSION (go install github.com/distribution/distribution/v3/cmd/registry@$VERSION), or set MODELSHIP_REGISTRY_BIN to a distribution 'registry' binary"
  fi
fi
echo "$BIN"
