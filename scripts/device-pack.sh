#!/usr/bin/env bash
# Packs what scripts/device-check.sh needs on a GPU host that has no JDK, no Maven and no network,
# into device-pack/catena-device.tar.xz (git-ignored; carried to the device with `carry: ["device-pack"]`):
#   runtime/   a jlinked Java 25 runtime (scripts/jlink-runtime.sh; uncompressed image, xz does better)
#   lib/       the samples CLI's module path (catena jars, Netty, protobuf, picocli); the ffm-backend
#              jar without its bundled CPU libraries (natives/ replaces them, via CATENA_LLAMA_DIR)
#   bench/     catena-bench.jar (ComputeBench, on the class path with lib/)
#   natives/   llama.cpp v0.5.0's CPU libraries (as the jar bundles them) + libggml-cuda.so for sm_90
#              (scripts/build-cuda.sh), with SHA256SUMS
#   vocab/     llama.cpp's vocabulary GGUFs for the generated test models (llama-bpe, llama-spm)
#   models/    the repository's demo model (models/stories260K.gguf) and its expected output
# Generated models of 1B/8B shapes are NOT packed: device-check.sh generates them on the device.
#   scripts/device-pack.sh [--no-build] [--no-cuda]
# --no-build: use the jars already in */target (else ./build -q -DskipTests package first).
# --no-cuda: pack without libggml-cuda.so (a CPU-only pack, for DEVICE=cpu dry runs).
# The pack must stay under the device tool's 64 MiB carry limit together with the working tree.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=yes cuda=yes
for a in "$@"; do
  case "$a" in
    --no-build) build=no ;;
    --no-cuda) cuda=no ;;
    *) echo "usage: device-pack.sh [--no-build] [--no-cuda]" >&2; exit 2 ;;
  esac
done
LIMIT_MIB=${DEVICE_PACK_LIMIT_MIB:-56}   # leaves room for the working tree within 64 MiB
cache=${CATENA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/catena}
log() { echo "device-pack: $*" >&2; }
die() { log "$*"; exit 1; }
command -v xz >/dev/null || die "xz is needed"
command -v python3 >/dev/null || die "python3 is needed (to strip the natives from the ffm-backend jar)"

cd "$root"
[ $build = no ] || ./build -q -DskipTests package >&2
cuda_lib=
if [ $cuda = yes ]; then
  "$root/scripts/build-cuda.sh" >&2
  cuda_lib=$cache/cuda-v0.5.0-sm90/libggml-cuda.so
  [ -f "$cuda_lib" ] || die "no $cuda_lib"
fi

jar_of() { ls "$root/$1"/target/catena-*.jar 2>/dev/null | grep -v -- '-tests\.jar$' | head -n 1; }
samples_jar=$(jar_of samples) bench_jar=$(jar_of bench)
[ -n "$samples_jar" ] && [ -d samples/target/lib ] && [ -n "$bench_jar" ] || die "jars missing: build first (./build -DskipTests package)"
natives_src=ffm-backend/target/natives-resources/dev/catena/ffm/natives/linux-x86_64
vocab_src=ffm-backend/target/llama-vocab
[ -f "$natives_src/SHA256SUMS" ] && [ -d "$vocab_src" ] || die "ffm-backend/target lacks the natives or vocabularies: build first"
[ -f models/stories260K.gguf ] || die "no models/stories260K.gguf (restore it with: git checkout models/)"

mkdir -p device-pack
stage=$(mktemp -d "$root/device-pack/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
p=$stage/catena
mkdir -p "$p"/{lib,bench,natives,vocab,models}

JLINK_EXCLUDE=java.desktop JLINK_COMPRESS=zip-0 "$root/scripts/jlink-runtime.sh" "$p/runtime" samples/target samples/target/lib bench/target >&2
cp samples/target/lib/*.jar "$samples_jar" "$p/lib/"
cp "$bench_jar" "$p/bench/catena-bench.jar"
# The ffm-backend jar without dev/catena/ffm/natives/** (natives/ holds the same files, checked below).
ffm=$(ls "$p"/lib/catena-ffm-backend-*.jar)
python3 - "$ffm" <<'EOF'
import sys, zipfile, os
src = sys.argv[1]; tmp = src + ".tmp"
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        if item.filename.startswith("dev/catena/ffm/natives/linux-x86_64/"):
            continue
        zout.writestr(item, zin.read(item.filename))
os.replace(tmp, src)
EOF
cp "$natives_src"/*.so "$natives_src/RELEASE" "$p/natives/"
(cd "$natives_src" && sha256sum -c --status SHA256SUMS) || die "$natives_src does not match its SHA256SUMS"
[ -z "$cuda_lib" ] || cp "$cuda_lib" "$p/natives/"
(cd "$p/natives" && sha256sum -- *.so | sort -k2 > SHA256SUMS)
cp "$vocab_src"/ggml-vocab-llama-bpe.gguf "$vocab_src"/ggml-vocab-llama-spm.gguf "$p/vocab/"
cp models/stories260K.gguf models/stories260K.expected.json models/stories260K.LICENSE "$p/models/"

java=$p/runtime/bin/java
{
  echo "packed: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "source: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  [ -z "$cuda_lib" ] || sed 's/^/cuda: /' "$(dirname "$cuda_lib")/BUILDINFO"
  echo "java: $("$java" -version 2>&1 | head -n 1)"
} > "$p/PACKINFO"
(cd "$p" && find . -type f ! -name SHA256SUMS.all -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS.all)

out=device-pack/catena-device.tar.xz
tar -C "$stage" -cf - catena | xz -9e -T"${XZ_THREADS:-2}" > "$out.tmp"
mv -f "$out.tmp" "$out"
size=$(stat -c %s "$out")
log "unpacked $(du -sh "$p" | cut -f1): runtime $(du -sh "$p/runtime" | cut -f1), lib+bench $(du -shc "$p/lib" "$p/bench" | tail -n 1 | cut -f1), natives $(du -sh "$p/natives" | cut -f1), vocab $(du -sh "$p/vocab" | cut -f1), models $(du -sh "$p/models" | cut -f1)"
log "$out: $((size / 1024 / 1024)) MiB ($size bytes)"
[ "$size" -le $((LIMIT_MIB * 1024 * 1024)) ] || die "$out is over $LIMIT_MIB MiB: the device tool carries 64 MiB in all"
