#!/bin/sh
# The suite against the production topology (issue 12): a real Temporal server on PostgreSQL with SQL
# visibility, Temporal Web, two APIs and two workers, all on free loopback ports. Builds what it needs first.
set -e
cd "$(dirname "$0")/.."
sh scripts/setup.sh
node dist/test/support/ensure-cluster-tools.js
exec npx mocha --config .mocharc.cluster.json "$@"
