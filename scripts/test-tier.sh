#!/bin/sh
# One test tier alone (package.json: test:unit, test:integration, test:browser, test:faults):
#   sh scripts/test-tier.sh <tier> <mocha spec glob> [mocha options]
# Runs on the existing build when no source changed since it (scripts/build-if-stale.sh), so test:unit takes
# seconds; only the tiers that start Temporal make sure the temporal CLI is there, only the browser tier Chromium.
set -e
cd "$(dirname "$0")/.."
tier=$1
shift
sh scripts/build-if-stale.sh
case "$tier" in
  unit) ;;
  browser) node dist/test/support/ensure-temporal.js; sh scripts/ensure-chromium.sh ;;
  *) node dist/test/support/ensure-temporal.js ;;
esac
exec npx mocha "$@"
