#!/usr/bin/env bash
# Links a trimmed Java runtime for machines with no JDK (e.g. the GPU host of scripts/device-check.sh):
#   scripts/jlink-runtime.sh OUT_DIR [JAR_OR_DIR...]
# The modules are what the jars need, found with jdeps (default: the built jars of samples/ and bench/,
# so build first), plus jdk.unsupported (Netty's and protobuf's sun.misc.Unsafe). Measured on the
# jars of this repository: java.base, java.logging, jdk.jfr (netty-common), jdk.unsupported.
# Compressed (zip-9), no debug attributes, headers or man pages. OUT_DIR is replaced.
# JLINK_COMPRESS=zip-0 leaves the modules image uncompressed (smaller once the folder is xz'd).
# JLINK_EXCLUDE=a,b leaves modules out that the jars reference but the caller never runs (e.g. java.desktop,
# which only the swarm benchmark's chart uses).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:?usage: jlink-runtime.sh OUT_DIR [JAR_OR_DIR...]}; shift
JAVA_HOME=$("$root/scripts/find-jdk.sh")
[ -x "$JAVA_HOME/bin/jlink" ] || { echo "jlink-runtime: $JAVA_HOME has no jlink" >&2; exit 1; }
version=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$JAVA_HOME/release")

jars=()
if [ $# -eq 0 ]; then set -- "$root"/samples/target "$root"/samples/target/lib "$root"/bench/target; fi
for a in "$@"; do
  if [ -d "$a" ]; then for j in "$a"/*.jar; do [ -f "$j" ] && jars+=("$j"); done
  elif [ -f "$a" ]; then jars+=("$a"); fi
done
[ ${#jars[@]} -gt 0 ] || { echo "jlink-runtime: no jars found (build first: ./build -DskipTests package)" >&2; exit 1; }
jars=($(printf '%s\n' "${jars[@]}" | grep -v -- '-tests\.jar$' | awk -F/ '!seen[$NF]++'))
modpath=$(printf '%s\n' "${jars[@]}" | tr '\n' ':')
found=$("$JAVA_HOME/bin/jdeps" --multi-release "$version" --ignore-missing-deps --print-module-deps \
  --module-path "$modpath" "${jars[@]}" 2>/dev/null | tail -n 1)
case "$found" in java.base*) ;; *) echo "jlink-runtime: jdeps gave no module list: $found" >&2; exit 1;; esac
modules=$(printf '%s\n' java.base jdk.unsupported $(echo "$found" | tr ',' ' ') | sort -u \
  | grep -vxF -f <(echo "${JLINK_EXCLUDE:-}" | tr ',' '\n' | grep .) | paste -sd, -)

rm -rf "$out"
mkdir -p "$(dirname "$out")"
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --compress "${JLINK_COMPRESS:-zip-9}" --strip-debug \
  --no-header-files --no-man-pages --output "$out"
echo "jlink-runtime: Java $version runtime with $modules in $out ($(du -sh "$out" | cut -f1))" >&2
