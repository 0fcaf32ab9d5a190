#!/bin/sh
# cmake --install into a temporary prefix, then a consumer project outside the tree builds and runs
# against it twice: through find_package(fastvlm) and through pkg-config (fastvlm.pc).
# Usage: check_install.sh CMAKE BUILD_DIR CONSUMER_SOURCE_DIR CXX
set -e
cmake="$1"
build="$2"
consumer="$3"
cxx="$4"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fvlm_install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$cmake" --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log"
test -x "$tmp/prefix/bin/fastvlm"
test -f "$tmp/prefix/include/fastvlm/models/pipeline.h"
if [ -e "$tmp/prefix/include/fastvlm/core/simd_avx2.h" ]; then
  echo "FAILED: ISA-only header installed"
  exit 1
fi
"$cmake" -S "$consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
"$cmake" --build "$tmp/consumer" >/dev/null
out=$("$tmp/consumer/consumer")
echo "find_package consumer: $out"
case "$out" in 896\ *) ;; *) echo "FAILED: unexpected output"; exit 1 ;; esac
libdir=$(dirname "$(find "$tmp/prefix" -name fastvlm.pc | head -1)")
test -n "$libdir"
flags=$(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs fastvlm)
# shellcheck disable=SC2086
"$cxx" -std=c++20 "$consumer/main.cpp" -o "$tmp/consumer_pc" $flags
out_pc=$("$tmp/consumer_pc")
echo "pkg-config consumer: $out_pc"
[ "$out_pc" = "$out" ] || { echo "FAILED: pkg-config build differs"; exit 1; }
echo "ok: installed, found by find_package and pkg-config"
