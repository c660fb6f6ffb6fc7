#!/usr/bin/env bash
# Prints the path of a promtool (Prometheus' checker, for GET /metrics' format test): the one on PATH, else one
# unpacked from Debian's `prometheus` package into ~/.cache/catena/prometheus ($CATENA_CACHE_DIR), fetched with
# `apt-get download` (no root needed; `apt-get update` first when the package lists lack it and we are root).
# Exits 3 with a message on stderr when the package cannot be fetched.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then command -v promtool; exit 0; fi
cache="${CATENA_CACHE_DIR:-$HOME/.cache/catena}/prometheus"
bin="$cache/root/usr/bin/promtool"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
command -v apt-get >/dev/null && command -v dpkg >/dev/null || { echo "no apt-get/dpkg here: cannot fetch Debian's prometheus package" >&2; exit 3; }
mkdir -p "$cache"
work=$(mktemp -d "$cache/fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
download() { (cd "$work" && apt-get download prometheus >"$work/log" 2>&1); }
if ! download; then
  if [ "$(id -u)" = 0 ]; then apt-get update >"$work/log" 2>&1 || true; fi
  download || { echo "cannot fetch Debian's prometheus package:" >&2; cat "$work/log" >&2; exit 3; }
fi
dpkg -x "$work"/prometheus_*.deb "$work/root"
[ -x "$work/root/usr/bin/promtool" ] || { echo "the prometheus package has no usr/bin/promtool" >&2; exit 3; }
rm -rf "$cache/root"
mv "$work/root" "$cache/root"
echo "$bin"
