#!/usr/bin/env bash
# Cross-compiles ggml's CUDA backend (libggml-cuda.so) of the pinned llama.cpp release for
# Hopper (sm_90: H100, H200), on a machine with no GPU, as ../shared/CUDA-NOTES.md describes.
#   scripts/build-cuda.sh [-jN]            (default -j2; run it under nice on a shared machine)
# Output: $CACHE/cuda-v0.5.0-sm90/{libggml-cuda.so, SHA256SUMS, BUILDINFO}; skipped when present and
# its SHA256SUMS matches. $CACHE is $CATENA_CACHE_DIR, else ~/.cache/catena.
# The module is loaded beside npm's CPU libraries (same ggml source, same backend API) by
# ggml_backend_load_all_from_path; point CATENA_LLAMA_DIR at a folder holding both. At run time it
# needs libcudart.so.13, libcublas.so.13 and libcublasLt.so.13 beside it or on the library path,
# and the GPU host's driver (libcuda.so.1).
#
# Needs: cmake, ninja or make, gcc/g++, a CUDA 13 toolkit (nvcc; CUDA_HOME or /usr/local/cuda) and
# a nvidia-cublas 13.x wheel (CUBLAS_WHEEL, else found with find). The toolkit here lacks cuBLAS
# and libcuda.so, so the script works on a private copy of it: the wheel's headers and libraries
# are unzipped into it, and a stand-in libcuda.so (SONAME libcuda.so.1, every cu* entry point of
# cuda.h returning CUDA_ERROR_UNKNOWN) is built for linking only; it is never shipped.
#
# Architecture: 90-real (sm_90 machine code, no PTX). H100 and H200 are both exactly sm_90, so the
# PTX that plain `90` adds (about 20 MB more, for a JIT on newer GPUs) would never be used on the
# machines we target, and size matters: everything shipped to the GPU host travels in <= 64 MiB.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${1:--j2}

LLAMA_RELEASE=v0.5.0
SRC_COMMIT=de3ff815ea7d559ee917f063901b8986f038abc6
ARCH=90-real
CUBLAS_WHEEL_NAME='nvidia_cublas-13.*-manylinux*_x86_64.whl'

cache=${CATENA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/catena}
out=$cache/cuda-$LLAMA_RELEASE-sm90
if [ -f "$out/SHA256SUMS" ] && [ -f "$out/libggml-cuda.so" ] && (cd "$out" && sha256sum -c --status SHA256SUMS); then
  echo "build-cuda: up to date: $out/libggml-cuda.so"
  exit 0
fi

log() { echo "build-cuda: $*" >&2; }
die() { log "$*"; exit 1; }
for t in cmake gcc g++ unzip git strip readelf; do command -v $t >/dev/null || die "$t is needed"; done
generator=(); command -v ninja >/dev/null && generator=(-G Ninja)

# The pinned source (fetch-llama.sh fetches and checks it once).
src_git=$cache/llama-$LLAMA_RELEASE/src.git
if [ "$(git -C "$src_git" rev-parse -q --verify release 2>/dev/null)" != "$SRC_COMMIT" ]; then
  tmp=$(mktemp -d); "$root/scripts/fetch-llama.sh" "$tmp/r" "$tmp/i"; rm -rf "$tmp"
fi
[ "$(git -C "$src_git" rev-parse release)" = "$SRC_COMMIT" ] || die "unexpected source commit in $src_git"

# The CUDA toolkit and the cuBLAS wheel.
cuda_home=${CUDA_HOME:-}
if [ -z "$cuda_home" ]; then
  nvcc=$(command -v nvcc || true)
  if [ -x /usr/local/cuda/bin/nvcc ]; then cuda_home=$(readlink -f /usr/local/cuda)
  elif [ -n "$nvcc" ]; then cuda_home=$(dirname "$(dirname "$(readlink -f "$nvcc")")")
  fi
fi
[ -x "$cuda_home/bin/nvcc" ] || die "no CUDA toolkit found (set CUDA_HOME)"
"$cuda_home/bin/nvcc" --version | grep -q 'release 13\.' || die "$cuda_home is not CUDA 13"
wheel=${CUBLAS_WHEEL:-}
if [ -z "$wheel" ]; then
  for d in /opt/pypi-more/files /opt/pypi /opt/wheels "$HOME"; do
    [ -d "$d" ] && wheel=$(find "$d" -name "$CUBLAS_WHEEL_NAME" 2>/dev/null | sort | tail -n 1)
    [ -n "$wheel" ] && break
  done
  [ -n "$wheel" ] || wheel=$(find / -xdev -name "$CUBLAS_WHEEL_NAME" 2>/dev/null | sort | tail -n 1)
fi
[ -f "$wheel" ] || die "no nvidia-cublas 13 wheel found (set CUBLAS_WHEEL)"

# Work folder: kept on failure so a rerun continues the build; removed after success.
work=$cache/cuda-build-$LLAMA_RELEASE
mkdir -p "$work"
exec 9>"$work/.lock"; flock -n 9 || die "another build-cuda.sh is running on $work"
log "toolkit $cuda_home, cuBLAS $(basename "$wheel"), work $work"

tk=$work/toolkit
if [ ! -f "$tk/.done" ]; then
  rm -rf "$tk"; cp -a "$cuda_home" "$tk"
  libdir=$tk/lib64; [ -d "$libdir" ] || libdir=$tk/lib
  un=$work/wheel; rm -rf "$un"; mkdir -p "$un"
  unzip -q -o "$wheel" 'nvidia/cu13/include/*' 'nvidia/cu13/lib/libcublas.so.*' 'nvidia/cu13/lib/libcublasLt.so.*' -d "$un"
  cp "$un"/nvidia/cu13/include/* "$tk/include/"
  mv "$un"/nvidia/cu13/lib/* "$libdir/"; rm -rf "$un"
  ln -sf libcublas.so.13 "$libdir/libcublas.so"; ln -sf libcublasLt.so.13 "$libdir/libcublasLt.so"
  # The stand-in driver library: every CUresult-returning cu* function that cuda.h declares,
  # under the names cuda.h maps them to (e.g. cuMemGetInfo -> cuMemGetInfo_v2).
  mkdir -p "$libdir/stubs"
  gcc -E -P -x c "$tk/include/cuda.h" \
    | grep -oE '\bCUresult[[:space:]]+cu[A-Za-z0-9_]+[[:space:]]*\(' \
    | sed -E 's/^CUresult[[:space:]]+//; s/[[:space:]]*\($//' | sort -u \
    | awk '{ printf "int %s(void) { return 999; }\n", $1 }' > "$work/libcuda-stub.c"
  [ "$(wc -l < "$work/libcuda-stub.c")" -gt 100 ] || die "could not list cuda.h's functions"
  gcc -shared -fPIC -O0 -Wl,-soname,libcuda.so.1 -o "$libdir/stubs/libcuda.so" "$work/libcuda-stub.c"
  touch "$tk/.done"
fi
libdir=$tk/lib64; [ -d "$libdir" ] || libdir=$tk/lib

if [ ! -f "$work/src/.done" ]; then
  rm -rf "$work/src"; mkdir -p "$work/src"
  git -C "$src_git" archive release | tar x -C "$work/src"
  touch "$work/src/.done"
fi

start=$(date +%s)
export PATH="$tk/bin:$PATH" CUDA_PATH="$tk" CUDA_HOME="$tk" CUDAToolkit_ROOT="$tk"
# The options of ../shared/CUDA-NOTES.md. The top-level llama.cpp project is configured (as
# llama.cpp's own CUDA builds are, so GGML_CUDA_GRAPHS defaults on) but only ggml-cuda is built.
cmake -S "$work/src" -B "$work/build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=ON -DGGML_BACKEND_DL=ON -DGGML_NATIVE=OFF -DGGML_OPENMP=OFF \
  -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=$ARCH -DGGML_CUDA_NCCL=OFF \
  -DCMAKE_PLATFORM_NO_VERSIONED_SONAME=ON \
  -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON -DCMAKE_INSTALL_RPATH='$ORIGIN' \
  -DCMAKE_CUDA_COMPILER="$tk/bin/nvcc" -DCUDAToolkit_ROOT="$tk" \
  -DCUDA_cuda_driver_LIBRARY="$libdir/stubs/libcuda.so" \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
  -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_COMMON=OFF > "$work/configure.log" 2>&1 \
  || { tail -n 40 "$work/configure.log" >&2; die "configure failed (log: $work/configure.log)"; }
grep -E 'CUDA Toolkit found|CMAKE_CUDA_ARCHITECTURES|ggml version' "$work/configure.log" >&2 || true
cmake --build "$work/build" --target ggml-cuda -- "$jobs"
built=$(find "$work/build" -name libggml-cuda.so -type f | head -n 1)
[ -n "$built" ] || die "no libggml-cuda.so was built"

stage=$(mktemp -d "$cache/cuda-out.XXXXXX")
strip --strip-unneeded -o "$stage/libggml-cuda.so" "$built"
# Check what the module asks for: an unversioned libggml-base.so, CUDA 13's runtime and cuBLAS, the driver.
needed=$(readelf -d "$stage/libggml-cuda.so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
for n in libggml-base.so libcudart.so.13 libcublas.so.13 libcuda.so.1; do
  case " $needed " in *" $n "*) ;; *) rm -rf "$stage"; die "NEEDED lacks $n: $needed";; esac
done
case " $needed " in *" libggml-base.so.0 "*) rm -rf "$stage"; die "versioned libggml-base in NEEDED: $needed";; esac
{
  echo "llama.cpp $LLAMA_RELEASE ($SRC_COMMIT), CMAKE_CUDA_ARCHITECTURES=$ARCH"
  echo "nvcc: $("$tk/bin/nvcc" --version | tail -n 1)"
  echo "cuBLAS: $(basename "$wheel")"
  echo "NEEDED: $needed"
  echo "RUNPATH: $(readelf -d "$stage/libggml-cuda.so" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')"
  echo "build seconds: $(( $(date +%s) - start )) ($jobs)"
} > "$stage/BUILDINFO"
(cd "$stage" && sha256sum libggml-cuda.so BUILDINFO > SHA256SUMS)
rm -rf "$out"; mv "$stage" "$out"; chmod 755 "$out"
cat "$out/BUILDINFO" >&2
ls -l "$out/libggml-cuda.so" >&2
[ -n "${CATENA_KEEP_CUDA_BUILD:-}" ] || rm -rf "$work"
echo "build-cuda: built $out/libggml-cuda.so"
