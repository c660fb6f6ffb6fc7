#!/usr/bin/env bash
# Fetches etcd 3.4 (Debian's etcd-server package, through apt-get download: no root needed) into a
# cache once, and links its server binary as $1/etcd (when $1 is given). Prints the binary's path.
# Cache: $CATENA_CACHE_DIR, else ~/.cache/catena. Set CATENA_ETCD_BIN to use an etcd of your own.
set -euo pipefail
out=${1:-}
ETCD_SERIES=3.4.   # what the directory is tested against (the package in Debian 12 is 3.4.23)

if [ -n "${CATENA_ETCD_BIN:-}" ]; then
  bin=$CATENA_ETCD_BIN
else
  cache=${CATENA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/catena}/etcd
  mkdir -p "$cache"
  exec 9>"$cache/.lock"; flock 9
  bin=$cache/root/usr/bin/etcd
  if [ ! -x "$bin" ] || [ ! -f "$cache/root/.done" ]; then
    command -v apt-get >/dev/null && command -v dpkg >/dev/null \
      || { echo "fetch-etcd: apt-get and dpkg are needed once to fetch etcd-server (or set CATENA_ETCD_BIN)" >&2; exit 1; }
    tmp=$(mktemp -d "$cache/pkg.XXXXXX")
    if ! (cd "$tmp" && apt-get download -q etcd-server >/dev/null 2>"$tmp/err"); then
      echo "fetch-etcd: apt-get download etcd-server failed: $(tail -n 3 "$tmp/err")" >&2
      echo "fetch-etcd: run 'apt-get update' once, or set CATENA_ETCD_BIN to an etcd 3.4 binary" >&2
      rm -rf "$tmp"; exit 1
    fi
    rm -rf "$cache/root" && mkdir -p "$cache/root"
    dpkg -x "$tmp"/etcd-server_*.deb "$cache/root"
    sha256sum "$tmp"/etcd-server_*.deb | sed "s|$tmp/||" > "$cache/root/.package.sha256"
    rm -rf "$tmp"
    [ -x "$bin" ] || { echo "fetch-etcd: the etcd-server package has no usr/bin/etcd" >&2; exit 1; }
    touch "$cache/root/.done"
  fi
fi
version=$("$bin" --version 2>/dev/null | sed -n 's/^etcd Version: //p')
case "$version" in
  "$ETCD_SERIES"*) ;;
  *) echo "fetch-etcd: $bin is etcd '${version:-unknown}', expected ${ETCD_SERIES}x" >&2; exit 1 ;;
esac
if [ -n "$out" ]; then
  mkdir -p "$out"
  ln -sfn "$bin" "$out/etcd"
fi
echo "$bin"
