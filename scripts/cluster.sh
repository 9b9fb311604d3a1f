#!/bin/sh
# The production-like topology on one machine (Temporal server on PostgreSQL, 2 APIs, 2 workers): see docs/operations.md.
set -e
cd "$(dirname "$0")/.."
sh scripts/setup.sh
# no --enable-source-maps in production (see start.sh)
exec node dist/src/main/cluster.js
