#!/usr/bin/env bash
# What a person who clones Catena meets first: clones this checkout's HEAD into a fresh folder with
# no ../shared beside it and runs the README's two commands there (the main job, then the test suite).
#   scripts/fresh-clone-check.sh [--keep]       (--keep leaves the clone in place for a look)
# .ci/run runs it, so CI proves that nothing outside the repository is needed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
keep=no
[ "${1:-}" = --keep ] && keep=yes
parent=$(mktemp -d "${TMPDIR:-/tmp}/catena-fresh.XXXXXX")
[ $keep = yes ] || trap 'rm -rf "$parent"' EXIT
clone=$parent/catena
git clone -q "$root" "$clone"
[ ! -e "$parent/shared" ] || { echo "fresh-clone-check: $parent/shared exists" >&2; exit 1; }
cd "$clone"
echo "fresh-clone-check: clone of $(git rev-parse --short HEAD) in $clone (no ../shared beside it)"

echo "fresh-clone-check: ./catena swarm --servers 3 --prompt \"Once upon a time\" -n 64"
./catena swarm --servers 3 --prompt "Once upon a time" -n 64

echo "fresh-clone-check: ./build verify"
./build verify
echo "fresh-clone-check: both README commands succeeded"
