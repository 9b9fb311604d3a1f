#!/bin/sh
# Installs dependencies when missing or out of date, then builds (type-check + workflow bundle + admin UI).
set -e
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[setup] installing dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "[setup] building"
started=$(mktemp)
rm -rf dist
npx tsc -p tsconfig.json
node dist/src/temporal/bundle.js
node scripts/bundle-plugin-host.mjs
sh scripts/build-ui.sh
# what scripts/build-if-stale.sh compares the sources with (the time the build started)
touch -r "$started" dist/.build-stamp
rm -f "$started"
