#!/bin/sh
# The whole test suite from a fresh clone: installs, builds, provides the Temporal CLI and Chromium, runs mocha
# on the files given (package.json's "test" script gives every tier: 'dist/test/**/*.test.js').
# The suite starts its own Temporal dev server and PostgreSQL on free ports and stops them after.
set -e
cd "$(dirname "$0")/.."
sh scripts/setup.sh
node dist/test/support/ensure-temporal.js
sh scripts/ensure-chromium.sh
exec npx mocha "$@"
