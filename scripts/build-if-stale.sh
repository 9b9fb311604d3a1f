#!/bin/sh
# Reuses the build that scripts/setup.sh made (npm test, npm run build) when no source changed since:
# the test tiers and the cluster suite run on it instead of building again. No build yet (a fresh clone):
# the full set-up. Sources changed: the server and workflow bundle again, and the admin UI when ui/ changed.
set -e
cd "$(dirname "$0")/.."
STAMP=dist/.build-stamp
if [ ! -f "$STAMP" ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ package-lock.json -nt "$STAMP" ]; then
  exec sh scripts/setup.sh
fi
changed() { find "$@" -newer "$STAMP" -type f ! -name schema.gen.ts 2>/dev/null | head -n 1; }
server=$(changed src workflows activities providers entities test bench examples tsconfig.json)
ui=$(changed ui)
if [ -z "$server" ] && [ -z "$ui" ]; then
  echo "[setup] reusing the build in dist/ (no source changed since $(date -r "$STAMP" '+%H:%M:%S'))"
  exit 0
fi
started=$(mktemp)
echo "[setup] $server$ui (and maybe more) changed since the last build: building again"
if [ -n "$server" ]; then
  npx tsc -p tsconfig.json
  node dist/src/temporal/bundle.js
  node scripts/bundle-plugin-host.mjs
fi
# the admin UI's client types come from the OpenAPI document the server code writes
sh scripts/build-ui.sh
touch -r "$started" "$STAMP"
rm -f "$started"
