#!/usr/bin/env bash
# Makes sure Debian's chromium is installed (for the live page's headless browser test) and prints its path.
# Installs it with apt-get when missing and we are root (or sudo needs no password); chromium cannot be unpacked
# without root, since it needs its shared libraries installed. Exits 3 with a message on stderr when it cannot.
set -euo pipefail
for c in /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -x "$c" ]; then echo "$c"; exit 0; fi
done
if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else
  echo "chromium is not installed and installing it needs root: apt-get install chromium" >&2; exit 3
fi
command -v apt-get >/dev/null || { echo "no apt-get here: install chromium yourself" >&2; exit 3; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y --no-install-recommends chromium >"$log" 2>&1; then
  $sudo apt-get update >>"$log" 2>&1 || true
  $sudo apt-get install -y --no-install-recommends chromium >>"$log" 2>&1 || { echo "cannot install chromium:" >&2; tail -20 "$log" >&2; exit 3; }
fi
[ -x /usr/bin/chromium ] || { echo "apt-get installed chromium but /usr/bin/chromium is missing" >&2; exit 3; }
echo /usr/bin/chromium
