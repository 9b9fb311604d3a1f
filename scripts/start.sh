#!/bin/sh
# One command for the whole stack on its embedded default: see README.md and docs/operations.md.
set -e
cd "$(dirname "$0")/.."
sh scripts/setup.sh
# no --enable-source-maps: mapping every error's stack costs CPU on hot failure paths (issue 22);
# NODE_OPTIONS=--enable-source-maps npm start maps them when debugging
exec node dist/src/main/dev.js
