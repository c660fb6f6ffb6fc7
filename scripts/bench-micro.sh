#!/usr/bin/env bash
# JMH micro benchmarks: what a hop costs besides compute (HopBench) and one decode step of a span (SpanStepBench).
#   scripts/bench-micro.sh [JMH options, e.g. HopBench -p nEmbd=2048,4096 -rf json -rff out.json]
exec "$(dirname "${BASH_SOURCE[0]}")/run-bench.sh" dev.catena.bench.BenchCli micro "$@"
