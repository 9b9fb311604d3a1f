#!/bin/sh
# One command for the whole stack on its embedded default: see README.md and docs/operations.md.
set -e
cd "$(dirname "$0")/.."
sh scripts/setup.sh
exec node --enable-source-maps dist/src/main/dev.js
