#!/bin/sh
# The whole test suite from a fresh clone: installs, builds, provides the Temporal CLI, runs mocha.
# The suite starts its own Temporal dev server and PostgreSQL on free ports and stops them after.
set -e
cd "$(dirname "$0")/.."
sh scripts/setup.sh
node dist/test/support/ensure-temporal.js
exec npx mocha "$@"
