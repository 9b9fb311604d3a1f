#!/bin/sh
# The suite against the production topology (issue 12): a real Temporal server on PostgreSQL with SQL
# visibility, Temporal Web, two APIs and two workers, all on free loopback ports. Reuses the build npm test made
# (scripts/build-if-stale.sh: builds only when there is none or a source changed since).
set -e
cd "$(dirname "$0")/.."
sh scripts/build-if-stale.sh
node dist/test/support/ensure-cluster-tools.js
exec npx mocha --config .mocharc.cluster.json "$@"
