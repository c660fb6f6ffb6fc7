#!/usr/bin/env bash
# Fetches the pinned llama.cpp release (v0.5.0, via npm node-llama-cpp 3.22.1) into a cache,
# verifies it, and lays out what the build needs:
#   $1/dev/catena/ffm/natives/linux-x86_64/   the CPU libraries and a sha256 manifest (jar resources)
#   $2/                                       the C headers (ggml/include, include) for the layout probe
#   $3/ (optional)                            llama.cpp's vocabulary-only GGUFs (models/ggml-vocab-{llama-bpe,
#                                             llama-spm,qwen2}.gguf), for the generated test models
# Nothing is written into the source tree. Cache: $CATENA_CACHE_DIR, else ~/.cache/catena.
set -euo pipefail
resources_out=$1
include_out=$2
vocab_out=${3:-}

LLAMA_RELEASE=v0.5.0
BIN_PKG=@node-llama-cpp/linux-x64@3.22.1
BIN_TGZ=node-llama-cpp-linux-x64-3.22.1.tgz
BIN_SHA256=0d953e1503d5ab4608d8ed5b739132308c81ac05ffeb760d2a7f30e08a9f90e0
SRC_PKG=node-llama-cpp@3.22.1
SRC_TGZ=node-llama-cpp-3.22.1.tgz
SRC_SHA256=a0d9dd80eacd2ab1cfe71aee57ac8a806487fd70b3d2a38fbec637752d9e5c5f
SRC_COMMIT=de3ff815ea7d559ee917f063901b8986f038abc6   # the bundle's only head
# The libraries Catena loads; the rest of the package (node addon, libllama-common) is left out.
LIBS="libggml-base.so libggml.v0.5.0.so libllama.v0.5.0.so"
# Vocabulary-only GGUFs from the source's models/ (real tokenizers, no weights), with their git blob ids:
# the commit is pinned and git checks every blob, the ids below say which files we mean.
VOCABS="ggml-vocab-llama-bpe.gguf:e51a99118bc43bc2373adf162f081751013b361a
ggml-vocab-llama-spm.gguf:658295a5df7412d786103d2a5332ee6e7de9a5df
ggml-vocab-qwen2.gguf:541e475bc94532defa0bb38dfabf6dfaae1fe8ae"

cache=${CATENA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/catena}/llama-$LLAMA_RELEASE
mkdir -p "$cache"

fetch() { # $1 package spec, $2 file name, $3 sha256
  local spec=$1 file=$2 sum=$3
  if [ -f "$cache/$file" ] && echo "$sum  $cache/$file" | sha256sum -c --status; then return 0; fi
  command -v npm >/dev/null || { echo "fetch-llama: npm is needed once to fetch $spec (apt-get install npm)" >&2; exit 1; }
  local tmp; tmp=$(mktemp -d "$cache/pack.XXXXXX")
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
  if ! echo "$sum  $tmp/$file" | sha256sum -c --status; then
    echo "fetch-llama: checksum mismatch for $spec (expected $sum)" >&2; rm -rf "$tmp"; exit 1
  fi
  mv -f "$tmp/$file" "$cache/$file"; rm -rf "$tmp"
}

# Locked so that two builds sharing a cache don't unpack over each other.
exec 9>"$cache/.lock"; flock 9
fetch "$BIN_PKG" "$BIN_TGZ" "$BIN_SHA256"
fetch "$SRC_PKG" "$SRC_TGZ" "$SRC_SHA256"

if [ ! -f "$cache/bins/.done" ]; then
  rm -rf "$cache/bins" && mkdir -p "$cache/bins"
  tar xzf "$cache/$BIN_TGZ" -C "$cache/bins" --strip-components=3 package/bins/linux-x64
  touch "$cache/bins/.done"
fi
# The release's source as a bare repository (kept: later steps archive more files from it).
src_git() {
  if [ "$(git -C "$cache/src.git" rev-parse -q --verify release 2>/dev/null)" = "$SRC_COMMIT" ]; then return 0; fi
  rm -rf "$cache/src.git"
  tar xzf "$cache/$SRC_TGZ" -C "$cache" --strip-components=2 package/llama/gitRelease.bundle
  git init -q --bare "$cache/src.git"
  git -C "$cache/src.git" fetch -q "$cache/gitRelease.bundle" "+HEAD:refs/heads/release"
  rm -f "$cache/gitRelease.bundle"
  [ "$(git -C "$cache/src.git" rev-parse release)" = "$SRC_COMMIT" ] || { echo "fetch-llama: unexpected source commit" >&2; exit 1; }
}
if [ ! -f "$cache/include/.done" ]; then
  rm -rf "$cache/include" "$cache/src.git" && mkdir -p "$cache/include"
  src_git
  git -C "$cache/src.git" archive release include ggml/include | tar x -C "$cache/include"
  touch "$cache/include/.done"
fi
# Added after the first caches were made: an existing cache without it gets it on the next run.
vocab_done=$([ -f "$cache/vocab/.done" ] && echo yes || echo no)
for v in $VOCABS; do [ -f "$cache/vocab/${v%%:*}" ] || vocab_done=no; done
if [ "$vocab_done" != yes ]; then
  rm -rf "$cache/vocab" && mkdir -p "$cache/vocab"
  src_git
  paths=()
  for v in $VOCABS; do
    name=${v%%:*} blob=${v#*:}
    [ "$(git -C "$cache/src.git" rev-parse "release:models/$name")" = "$blob" ] \
      || { echo "fetch-llama: models/$name in the source is not blob $blob" >&2; exit 1; }
    paths+=("models/$name")
  done
  git -C "$cache/src.git" archive release "${paths[@]}" | tar x -C "$cache/vocab" --strip-components=1
  touch "$cache/vocab/.done"
fi

natives="$resources_out/dev/catena/ffm/natives/linux-x86_64"
rm -rf "$natives" && mkdir -p "$natives"
for f in $LIBS; do cp "$cache/bins/$f" "$natives/"; done
cp "$cache"/bins/libggml-cpu-*.so "$natives/"
(cd "$natives" && sha256sum -- *.so | sort -k2 > SHA256SUMS && echo "$LLAMA_RELEASE" > RELEASE)

rm -rf "$include_out" && mkdir -p "$include_out"
cp -r "$cache/include/include" "$cache/include/ggml" "$include_out/"

if [ -n "$vocab_out" ]; then
  rm -rf "$vocab_out" && mkdir -p "$vocab_out"
  for v in $VOCABS; do cp "$cache/vocab/${v%%:*}" "$vocab_out/"; done
fi
