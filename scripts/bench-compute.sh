#!/usr/bin/env bash
# Single-span compute against llama.cpp's own llama_decode, same model, same threads, one process.
#   scripts/bench-compute.sh [--preset llama32-1b-q8_0|llama32-1b-q4_k | --model GGUF]   (neither: the demo model)
#                            [--threads T] [--prefill 512] [--decode 32] [--rounds 3]
# The presets are generated once (random weights, Llama-3.2-1B shapes) into ~/.cache/catena/models.
# Prints progress on stderr and one JSON line on stdout.
exec "$(dirname "${BASH_SOURCE[0]}")/run-bench.sh" dev.catena.bench.BenchCli compute "$@"
