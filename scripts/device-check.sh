#!/usr/bin/env bash
# Issue 7's acceptance checks in one run, on the GPU machine of the device tool (or, with DEVICE=cpu, on
# any x86-64 Linux, as a dry run of this script). Runs in the repository root; needs the pack made here by
# scripts/device-pack.sh (device-pack/catena-device.tar.xz: Java runtime, jars, natives, vocabularies,
# TinyStories), python3, xz and tar; no JDK, Maven or network. Writes everything into $OUT:
#   summary.txt    one line per step (status, seconds, result), then the numbers as BENCHMARKS.md rows
#   steps.log      every step's command line, stdout and stderr
#   bench.jsonl    ComputeBench's JSON lines, one per model
#   env.txt        nvidia-smi, library resolution (ldd), PACKINFO of the pack, disk and memory
# Each step has its own timeout and the script goes on past failures; the whole run stays under
# BUDGET_S seconds (default 450: the device tool allows 8 minutes for it).
#   DEVICE=cuda|cpu (default cuda)   BUDGET_S=450   BIG_LAYERS=32 (blocks of the 8B-shape models)
#   BIG_MODELS="llama32-1b-q8_0 llama32-1b-q4_k llama31-8b-q8_0 llama31-8b-q4_k" (DEVICE=cpu: none)
#   BENCH_ARGS="--prefill 512 --decode 64 --rounds 3"
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
t_start=$(date +%s)
DEVICE=${DEVICE:-cuda}
BUDGET_S=${BUDGET_S:-450}
OUT=${OUT:-$root/device-out}
PACK=${DEVICE_PACK:-$root/device-pack/catena-device.tar.xz}
PROMPT=${PROMPT:-Once upon a time}
N=${N:-64}
if [ "$DEVICE" = cpu ]; then
  BIG_MODELS=${BIG_MODELS:-}
  SMALL_MODELS=${SMALL_MODELS:-q4k}
  BENCH_MODELS=${BENCH_MODELS:-q4k}
  BENCH_ARGS=${BENCH_ARGS:---prefill 64 --decode 16 --rounds 1 --threads 1}
else
  BIG_MODELS=${BIG_MODELS:-llama32-1b-q8_0 llama32-1b-q4_k llama31-8b-q8_0 llama31-8b-q4_k}
  SMALL_MODELS=${SMALL_MODELS:-tiny-llama-gqa q4k}
  BENCH_MODELS=${BENCH_MODELS:-$BIG_MODELS}
  BENCH_ARGS=${BENCH_ARGS:---prefill 512 --decode 64 --rounds 3}
fi
BIG_LAYERS=${BIG_LAYERS:-32}
mkdir -p "$OUT"
summary=$OUT/summary.txt steps=$OUT/steps.log env=$OUT/env.txt benchjson=$OUT/bench.jsonl
: > "$summary"; : > "$steps"; : > "$env"; : > "$benchjson"
work=${DEVICE_WORK:-}
if [ -z "$work" ]; then # generated models need ~16 GB: /tmp unless it is small
  free_kb=$(df -Pk /tmp 2>/dev/null | awk 'NR==2 {print $4}')
  if [ "${free_kb:-0}" -gt $((24 * 1024 * 1024)) ] || [ "$DEVICE" = cpu ]; then work=/tmp/catena-device; else work=$root/.device-work; fi
fi
mkdir -p "$work"

note() { echo "$*" >> "$summary"; echo "$*" >&2; }
elapsed() { echo $(( $(date +%s) - t_start )); }
# step NAME TIMEOUT_S CMD...: runs CMD with a timeout cut to what is left of the budget, stdout to
# $work/NAME.out, stderr to $work/NAME.err, both into steps.log; returns CMD's status (124: timed out).
step() {
  local name=$1 limit=$2; shift 2
  local left=$(( BUDGET_S - $(elapsed) - 5 ))
  [ "$limit" -le "$left" ] || limit=$left
  if [ "$limit" -lt 5 ]; then
    echo "SKIP    $name: out of time budget" >> "$summary"; return 125
  fi
  local t0; t0=$(date +%s.%N)
  { echo "=== $name (timeout ${limit}s): $*"; } >> "$steps"
  timeout -k 5 "$limit" "$@" > "$work/$name.out" 2> "$work/$name.err"
  local rc=$?
  local secs; secs=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
  { echo "--- stdout"; tail -c 20000 "$work/$name.out"; echo "--- stderr"; tail -c 20000 "$work/$name.err"; echo "--- rc=$rc ${secs}s"; echo; } >> "$steps"
  local status=OK; [ $rc -eq 0 ] || status="FAIL($rc)"; [ $rc -ne 124 ] || status=TIMEOUT
  printf '%-7s %-28s %6ss\n' "$status" "$name" "$secs" | tee -a "$summary" >&2
  return $rc
}

note "device-check: DEVICE=$DEVICE, budget ${BUDGET_S}s, work $work, $(date -u +%Y-%m-%dT%H:%M:%SZ)"

# --- the pack ------------------------------------------------------------------------------------
[ -f "$PACK" ] || { note "FAIL    no pack at $PACK: run scripts/device-pack.sh here and carry device-pack"; exit 1; }
rm -rf "$work/catena"
step unpack 120 tar -C "$work" -xJf "$PACK" || { note "FAIL    cannot unpack $PACK"; exit 1; }
P=$work/catena
(cd "$P" && sha256sum -c --quiet SHA256SUMS.all) >> "$steps" 2>&1 || note "FAIL    pack checksums (see steps.log)"
JAVA=$P/runtime/bin/java
export CATENA_LLAMA_DIR=$P/natives CATENA_CACHE_DIR=$work/cache
# Two launchers as files (timeout runs programs, not shell functions): the samples CLI on the module path,
# and any main class (ComputeBench, TestModelMain) on the class path.
mkdir -p "$work/bin"
jopts="--sun-misc-unsafe-memory-access=allow -Djava.util.logging.config.file=$root/config/test-logging.properties -Dcatena.vocab.dir=$P/vocab"
printf '#!/bin/sh\nexec "%s" --enable-native-access=dev.catena.ffm,dev.catena.transport.spi,io.netty.common %s -p "%s" --add-modules ALL-MODULE-PATH -m dev.catena.samples/dev.catena.samples.cli.CatenaCli "$@"\n' \
  "$JAVA" "$jopts" "$P/lib" > "$work/bin/cli"
printf '#!/bin/sh\nexec "%s" --enable-native-access=ALL-UNNAMED %s -cp "%s" "$@"\n' \
  "$JAVA" "$jopts" "$P/bench/catena-bench.jar:$P/lib/*" > "$work/bin/cp_java"
chmod +x "$work/bin/cli" "$work/bin/cp_java"
cli=$work/bin/cli cp_java=$work/bin/cp_java

# --- environment: CUDA runtime and cuBLAS from the Python packages, the GPU ---------------------
if [ "$DEVICE" != cpu ]; then
  libdirs=$(python3 - <<'EOF' 2>/dev/null
import glob, os, site, sys
roots = []
try:
    import nvidia
    roots += list(nvidia.__path__)
except Exception:
    pass
roots += [os.path.join(p, "nvidia") for p in site.getsitepackages() + [site.getusersitepackages()]]
dirs = []
for r in roots:
    for lib in ("libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13"):
        for f in glob.glob(os.path.join(r, "**", lib), recursive=True):
            d = os.path.dirname(os.path.realpath(f))
            if d not in dirs:
                dirs.append(d)
print(":".join(dirs))
EOF
)
  if [ -z "$libdirs" ]; then
    libdirs=$(find /opt /usr/local /usr/lib -name 'libcublas.so.13' -o -name 'libcudart.so.13' -o -name 'libcublasLt.so.13' 2>/dev/null \
              | xargs -r -n1 dirname | sort -u | paste -sd: -)
  fi
  export LD_LIBRARY_PATH="${libdirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
{
  echo "== nvidia-smi"; timeout 30 nvidia-smi 2>&1 || echo "(no nvidia-smi)"
  echo "== nvidia-smi -q (name, driver, clocks)"; timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1 || true
  echo "== LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  echo "== ldd libggml-cuda.so"; [ -f "$P/natives/libggml-cuda.so" ] && ldd "$P/natives/libggml-cuda.so" 2>&1 || echo "(not in the pack)"
  echo "== PACKINFO"; cat "$P/PACKINFO"
  echo "== uname/cpu/mem/disk"; uname -a; nproc; free -g 2>/dev/null; df -h "$work" 2>/dev/null
} >> "$env" 2>&1
gpu_name=$(timeout 30 nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
note "gpu: ${gpu_name:-none}; libs: ${LD_LIBRARY_PATH:-(default)}"
if [ "$DEVICE" != cpu ] && ldd "$P/natives/libggml-cuda.so" 2>/dev/null | grep -q 'not found'; then
  note "FAIL    libggml-cuda.so has unresolved libraries: $(ldd "$P/natives/libggml-cuda.so" | awk '/not found/ {print $1}' | paste -sd' ' -)"
fi

# --- compare helper ------------------------------------------------------------------------------
cat > "$work/compare.py" <<'EOF'
# compare.py A.json B.json [A.logits B.logits]: greedy tokens and logits of two generations.
import json, sys, array, math
a, b = (json.load(open(p)) for p in sys.argv[1:3])
ta, tb = a["tokens"], b["tokens"]
n = min(len(ta), len(tb))
first = next((i for i in range(n) if ta[i] != tb[i]), None)
same = first is None and len(ta) == len(tb)
msg = f"tokens {'EQUAL' if same else 'DIFFER'} ({len(ta)} vs {len(tb)}" + ("" if first is None else f", first difference at {first}") + ")"
if len(sys.argv) > 4:
    fa, fb = array.array("f"), array.array("f")
    fa.frombytes(open(sys.argv[3], "rb").read()); fb.frombytes(open(sys.argv[4], "rb").read())
    nv = len(fa) // max(1, len(ta))
    rows = min(len(fa), len(fb)) // nv if nv else 0
    upto = rows if first is None else min(rows, first + 1)   # rows computed on the same inputs
    try:
        import numpy as np
        A = np.frombuffer(fa, dtype=np.float32)[: upto * nv].reshape(upto, nv)
        B = np.frombuffer(fb, dtype=np.float32)[: upto * nv].reshape(upto, nv)
        d = np.abs(A - B); worst = float(d.max()) if upto else 0.0; mean = float(d.mean()) if upto else 0.0
        top = [float(np.sort(A[i])[-1] - np.sort(A[i])[-2]) for i in range(upto)]
    except ImportError:
        worst = max((abs(fa[i] - fb[i]) for i in range(upto * nv)), default=0.0); mean = float("nan"); top = []
    msg += f"; max|dlogit| {worst:.3g} (mean {mean:.3g}) over {upto} rows of {nv}"
    if top:
        msg += f"; smallest top-2 gap {min(top):.3g}"
print(msg)
sys.exit(0 if same else 1)
EOF
cmp_gen() { python3 "$work/compare.py" "$@"; }
json_of() { grep '^{' "$work/$1.out" | tail -n 1; }   # a step's last JSON line on stdout

# --- 1. what Catena sees -------------------------------------------------------------------------
step info 60 "$cli" info
if [ "$DEVICE" != cpu ]; then
  grep -qi 'cuda\|gpu' "$work/info.out" && note "        info lists a GPU device" || note "FAIL    info lists no GPU device: $(grep -i device "$work/info.out" | head -n 3 | tr '\n' ' ')"
fi

# --- 2. test models ------------------------------------------------------------------------------
stories=$P/models/stories260K.gguf
declare -A model
gen_models() { # gen_models STEP [--layers N] PRESET...: paths into model[PRESET]
  local name=$1; shift
  step "$name" "${GEN_TIMEOUT:-240}" "$cp_java" dev.catena.ffm.testmodel.TestModelMain "$@" || return 1
  local presets=() a skip=no
  for a in "$@"; do
    if [ $skip = yes ]; then skip=no; continue; fi
    if [ "$a" = --layers ]; then skip=yes; continue; fi
    presets+=("$a")
  done
  local i=0 line
  while read -r line; do model[${presets[$i]}]=$line; i=$((i + 1)); done < "$work/$name.out"
}
[ -z "$SMALL_MODELS" ] || gen_models gen-small $SMALL_MODELS

# --- 3. llama.cpp's own decode vs Catena's, same device: 64 greedy steps -------------------------
oracle_check() { # oracle_check LABEL MODEL
  local label=$1 m=$2 of=$work/$1
  step "oracle-$label" 120 "$cli" oracle --device "$DEVICE" --model "$m" --prompt "$PROMPT" -n "$N" --json --logits "$of.oracle.bin" || return
  step "catena-$label" 120 "$cli" generate --local --device "$DEVICE" --model "$m" --prompt "$PROMPT" -n "$N" --greedy --ignore-eos \
    --json --logits "$of.catena.bin" || return
  json_of "oracle-$label" > "$of.oracle.json"; json_of "catena-$label" > "$of.catena.json"
  local r; r=$(cmp_gen "$of.oracle.json" "$of.catena.json" "$of.oracle.bin" "$of.catena.bin" 2>&1); local rc=$?
  local where="llama.cpp on $DEVICE vs Catena on $DEVICE"
  if [ $rc -eq 0 ]; then note "PASS    agreement $label: $r [$where]"; else note "FAIL    agreement $label: $r [$where]"; fi
}
oracle_check stories "$stories"
for s in $SMALL_MODELS; do [ -n "${model[$s]:-}" ] && oracle_check "$s" "${model[$s]}"; done

# --- 4. two servers on the one device, push mode: tokens vs the single span, per-hop overhead ---
swarm_check() { # swarm_check LABEL MODEL
  local label=$1 m=$2
  step "local-$label" 120 "$cli" generate --local --device "$DEVICE" --model "$m" --prompt "$PROMPT" -n "$N" --greedy --json || return
  step "swarm1-$label" 120 "$cli" swarm --device "$DEVICE" --model "$m" --servers 1 --mode push --prompt "$PROMPT" -n "$N" --greedy --json || return
  step "swarm2-$label" 120 "$cli" swarm --device "$DEVICE" --model "$m" --servers 2 --mode push --prompt "$PROMPT" -n "$N" --greedy --json || return
  local k; for k in local swarm1 swarm2; do json_of "$k-$label" > "$work/$k-$label.json"; done
  local r; r=$(cmp_gen "$work/local-$label.json" "$work/swarm2-$label.json" 2>&1); local rc=$?
  local lat; lat=$(python3 - "$work/local-$label.json" "$work/swarm1-$label.json" "$work/swarm2-$label.json" <<'EOF'
import json, sys
l, s1, s2 = (json.load(open(p)) for p in sys.argv[1:4])
p1, p2 = s1["latency_ms"]["p50"], s2["latency_ms"]["p50"]
tps = l.get("tokens_per_s")
local = f"local {1000 / tps:.2f} ms/token ({tps} t/s), " if tps else ""
print(f"{local}swarm p50 1 server {p1:.2f} ms, 2 servers {p2:.2f} ms: +{p2 - p1:.2f} ms per extra hop")
EOF
)
  local where="on $DEVICE"
  if [ $rc -eq 0 ]; then note "PASS    swarm $label: 2 spans push vs single span: $r; $lat [$where]"
  else note "FAIL    swarm $label: 2 spans push vs single span: $r; $lat [$where]"; fi
}
swarm_check stories "$stories"
first_small=${SMALL_MODELS%% *}
[ -n "$first_small" ] && [ -n "${model[$first_small]:-}" ] && swarm_check "$first_small" "${model[$first_small]}"

# --- 5. throughput: Catena vs llama_decode, same device, same model ------------------------------
bench_one() { # bench_one PRESET MODEL
  local label=$1 m=$2
  step "bench-$label" 150 "$cp_java" dev.catena.bench.ComputeBench --model "$m" --device "$DEVICE" $BENCH_ARGS || return
  local j; j=$(json_of "bench-$label")
  echo "$j" >> "$benchjson"
  local line; line=$(python3 - "$j" <<'EOF' 2>&1
import json, sys
j = json.loads(sys.argv[1]); c, l, r = j["catena"], j["llama_cpp"], j["ratio"]
print("prefill %.1f vs %.1f t/s (%.3fx), decode %.2f vs %.2f t/s (%.3fx) [Catena vs llama.cpp]"
      % (c["prefill_tps"], l["prefill_tps"], r["prefill"], c["decode_tps"], l["decode_tps"], r["decode"]))
EOF
)
  note "        bench $label on $DEVICE: $line"
}
for s in $BENCH_MODELS; do
  if [ -z "${model[$s]:-}" ]; then
    case "$s" in llama31-8b-*) gen_models "gen-$s" --layers "$BIG_LAYERS" "$s" ;; *) gen_models "gen-$s" "$s" ;; esac
  fi
  [ -n "${model[$s]:-}" ] && bench_one "$s" "${model[$s]}"
  # An 8B file is ~5-9 GB: drop each big model after its bench when disk is short.
  case "$s" in llama31-8b-*) [ -n "${KEEP_MODELS:-}" ] || rm -f "${model[$s]:-/nonexistent}" ;; esac
done

# --- summary ---------------------------------------------------------------------------------------
{
  echo
  echo "BENCHMARKS.md rows (GPU: ${gpu_name:-none}, DEVICE=$DEVICE, $BENCH_ARGS):"
  echo "| model | Catena prefill t/s | llama.cpp prefill t/s | ratio | Catena decode t/s | llama.cpp decode t/s | ratio |"
  echo "|---|---|---|---|---|---|---|"
  python3 - "$benchjson" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    j = json.loads(line); c, l, r = j["catena"], j["llama_cpp"], j["ratio"]
    print(f"| {j['model']} | {c['prefill_tps']:.1f} | {l['prefill_tps']:.1f} | {r['prefill']:.3f} | {c['decode_tps']:.2f} | {l['decode_tps']:.2f} | {r['decode']:.3f} |")
EOF
  echo
  echo "command: DEVICE=$DEVICE scripts/device-check.sh (pack: $(head -n 2 "$P/PACKINFO" | tr '\n' ' '))"
  echo "passed: $(grep -c '^PASS' "$summary"), failed: $(grep -c '^FAIL' "$summary"), skipped: $(grep -c '^SKIP' "$summary"), total $(elapsed)s"
} >> "$summary"
cat "$summary"
grep -q '^FAIL' "$summary" && exit 1 || exit 0
