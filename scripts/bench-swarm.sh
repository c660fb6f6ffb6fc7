#!/usr/bin/env bash
# Per-token swarm latency against PROTOCOL.md's latency model over emulated links (user-space proxies).
#   scripts/bench-swarm.sh [--model GGUF] [--servers 3] [--client-ms 40] [--peer-ms 2] [--tokens 64] [--warmup 8]
# Prints a Markdown table row per mode (push, relay).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JAVA_HOME=$("$root/scripts/find-jdk.sh")
if [ ! -d "$root/bench/target/lib" ] || [ ! -d "$root/bench/target/classes" ]; then
  "$root/build" -q -DskipTests package >&2
fi
cp="$root/bench/target/classes:$(ls "$root"/bench/target/lib/*.jar | tr '\n' ':')"
cd "$root"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
  -Djava.util.logging.config.file="$root/config/test-logging.properties" -cp "$cp" dev.catena.bench.SwarmLatencyBench "$@"
