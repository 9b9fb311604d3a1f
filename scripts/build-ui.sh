#!/bin/sh
# Builds the admin UI into dist/ui (after the server is compiled): the OpenAPI document is written from the
# route code (no server), the UI's client types are generated from it, the UI is type-checked against them
# (an API change that breaks the UI fails here) and bundled by Vite.
set -e
cd "$(dirname "$0")/.."
node dist/src/main/openapi.js dist/openapi.json
npx openapi-typescript dist/openapi.json -o ui/src/api/schema.gen.ts --silent >/dev/null
npx tsc -p ui/tsconfig.json
npx vite build --config ui/vite.config.mts --logLevel warn
