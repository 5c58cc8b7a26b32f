#!/usr/bin/env bash
# Installs Debian's chromium for the browser test (test/browser/), once: a no-op when it is there.
# The test drives it with playwright-core (executablePath /usr/bin/chromium), so no browser download
# from a third-party CDN is needed. Needs root (CI runs as root); prints one line either way.
set -euo pipefail
BROWSER=/usr/bin/chromium
if [ -x "$BROWSER" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-browser: $BROWSER is missing and installing it needs root: run 'apt-get install -y chromium' as root" >&2
  exit 1
fi
echo "ensure-browser: installing chromium with apt-get (once)"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "ensure-browser: apt-get could not install chromium (output above)" >&2
  exit 1
fi
rm -f "$log"
"$BROWSER" --version 2>/dev/null
