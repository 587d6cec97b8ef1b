#!/usr/bin/env bash
# npm run bench [-- --size-gib N --runs N --keep --oci-rss-gib N --only NAME[,NAME...]]
# Builds dist/ when it is missing or older than the sources, then runs the bench runner.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

needs_build() {
  [[ -f dist/bench/run.js && -f dist/bench/hash-child.js ]] || return 0
  [[ -n "$(find src bench scripts test tsconfig.json package.json -newer dist/bench/run.js \( -name '*.ts' -o -name '*.json' \) -print -quit 2>/dev/null)" ]]
}

if needs_build; then
  echo "bench: building (npx tsc -p tsconfig.json)" >&2
  npx tsc -p tsconfig.json
  touch dist/bench/run.js  # tsc leaves unchanged outputs alone; mark the build as fresh
fi

exec node dist/bench/run.js "$@"
