#!/usr/bin/env bash
# Single-span compute against llama.cpp's own llama_decode, same model, same threads, one process.
#   scripts/bench-compute.sh [--preset llama32-1b-q8_0|llama32-1b-q4_k | --model GGUF]
#                            [--threads T] [--prefill 512] [--decode 32] [--rounds 3]
# The presets are generated once (random weights, Llama-3.2-1B shapes) into ~/.cache/catena/models.
# Prints progress on stderr and one JSON line on stdout.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JAVA_HOME=$("$root/scripts/find-jdk.sh")
if [ ! -d "$root/bench/target/lib" ] || [ ! -d "$root/bench/target/classes" ]; then
  "$root/build" -q -DskipTests package >&2
fi
cp="$root/bench/target/classes:$(ls "$root"/bench/target/lib/*.jar | tr '\n' ':')"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -Dcatena.vocab.dir="$root/ffm-backend/target/llama-vocab" -cp "$cp" dev.catena.bench.ComputeBench "$@"
