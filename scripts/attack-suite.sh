#!/usr/bin/env bash
# Issue 14's attack suite against real ./catena server processes (see README, "Hostile connections"):
#   scripts/attack-suite.sh                 # full scale: 3 servers, 5000 idle connections per server, ...
#   scripts/attack-suite.sh --scale small   # what CI runs (AttackSuiteIT)
# Any option of ./catena bench attack works (--attacks idle,garbage --seed N --json). It prints a Markdown
# table and exits 1 when a check fails. The attacker needs file descriptors: about 16000 at full scale.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
need=16384
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
  ulimit -n "$need" 2>/dev/null || echo "attack-suite: ulimit -n is $(ulimit -n), below $need; the idle attack may run out of descriptors" >&2
fi
scale=(--scale full)
for a in "$@"; do [ "$a" = --scale ] && scale=(); done
exec "$root/catena" bench attack "${scale[@]}" "$@"
