#!/bin/sh
# The whole test suite from a fresh clone: installs, builds, provides the Temporal CLI and Chromium, runs mocha.
# The suite starts its own Temporal dev server and PostgreSQL on free ports and stops them after.
set -e
cd "$(dirname "$0")/.."
sh scripts/setup.sh
node dist/test/support/ensure-temporal.js
# the admin UI's browser tests run in Debian's chromium (CHROMIUM_PATH names another build)
if [ -z "$CHROMIUM_PATH" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[test] installing chromium for the admin UI's browser tests (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "[test] the admin UI's browser tests need Chromium: install Debian's chromium package (sudo apt-get install chromium) or set CHROMIUM_PATH" >&2
    exit 1
  fi
fi
exec npx mocha "$@"
