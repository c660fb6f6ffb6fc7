#!/usr/bin/env bash
# Per-token swarm latency against PROTOCOL.md's latency model over emulated links (user-space proxies).
#   scripts/bench-swarm.sh [--model GGUF] [--servers 3] [--client-ms 40] [--peer-ms 2] [--tokens 64] [--warmup 8]
# Prints a Markdown table row per mode (relay, push); with no delay at all the links are direct.
exec "$(dirname "${BASH_SOURCE[0]}")/run-bench.sh" dev.catena.bench.BenchCli swarm "$@"
