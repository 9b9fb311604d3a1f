#!/bin/sh
# The admin UI's browser tests run in Debian's chromium (CHROMIUM_PATH names another build): installs it with
# apt-get when it is missing and we are root, else says how and fails.
set -e
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
