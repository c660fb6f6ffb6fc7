#!/usr/bin/env bash
# Runs a main class of the bench module on a JDK >= 22 (building the module first if needed):
#   scripts/run-bench.sh dev.catena.bench.ComputeBench [args...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JAVA_HOME=$("$root/scripts/find-jdk.sh")
# Touched after each build by this script: a `mvn compile` elsewhere refreshes classes but not target/lib's jars.
stamp="$root/bench/target/lib/.built-by-run-bench"
stale() {
  [ ! -d "$root/bench/target/lib" ] || [ ! -f "$stamp" ] \
    || [ -n "$(find "$root"/*/src/main "$root"/*/pom.xml -newer "$stamp" -type f -print -quit)" ]
}
if stale; then
  # The same lock as ./catena's: a bench started beside ./catena servers never builds over their build.
  mkdir -p "$root/samples/target"
  exec 9>"$root/samples/target/.build.lock"
  command -v flock >/dev/null && flock 9
fi
if stale; then
  echo "bench: building (first use or sources changed)..." >&2
  log=$(mktemp)
  rm -rf "$root/bench/target/lib" # copy-dependencies never removes a jar the build no longer uses
  "$root/build" -q -DskipTests package >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
  rm -f "$log"
  touch "$stamp"
fi
exec 9>&-
main=$1; shift
cp="$root/bench/target/classes:$(ls "$root"/bench/target/lib/*.jar | tr '\n' ':')"
cd "$root"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
  -Dcatena.vocab.dir="$root/ffm-backend/target/llama-vocab" -Dcatena.home="$root" \
  -Djava.util.logging.config.file="$root/config/test-logging.properties" -cp "$cp" "$main" "$@"
