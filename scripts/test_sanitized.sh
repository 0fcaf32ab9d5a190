#!/usr/bin/env bash
# The unit, blocks, hostile, pull and serve tests again, built with AddressSanitizer + UndefinedBehaviorSanitizer
# (+ LeakSanitizer) in build-asan/. scripts/test.sh runs this after the plain suite (so CI does);
# run it alone for just this pass. Extra ctest arguments are passed on (e.g. -R pattern).
#
# A finding fails the run, wherever it happens: in a test binary, or in a `fastvlm` child that a
# hostile test started with its stderr sent to /dev/null (and maybe expecting a non-zero exit).
# So ASan and LeakSanitizer write their reports to build-asan/sanitizer-logs/, and any file there
# fails the run, printed in full. UBSan cannot: in GCC's combined ASan+UBSan runtime it ignores
# ASan's log_path, and its own log_path swallows the report (tried with GCC 12), so its reports go
# to stderr; like the others it exits with 86, a code fastvlm never uses (design.md), which fails
# any test that checks the exit code it expects.
set -euo pipefail
cd "$(dirname "$0")/.."

# -O1: a usable speed for the golden blocks at a fraction of -O2's compile time; -g1: line tables
# are all a report's stack needs, and much cheaper to build and link than full -g.
cmake -S . -B build-asan -DFVLM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  ${FVLM_CMAKE_ARGS:-} >&2
cmake --build build-asan -j"$(nproc)" --target sanitized_tests >&2

logs="$PWD/build-asan/sanitizer-logs"
rm -rf "$logs" && mkdir -p "$logs"
# detect_leaks: LeakSanitizer is on (ASan's default on Linux, said here so that it stays on).
# allocator_may_return_null: a malloc too large for ASan fails as in production (Tensor::zeros
# then throws out_of_memory) instead of killing the process with an ASan report.
# oneDNN's JIT kernels and libgomp are not instrumented: ASan cannot see their accesses, which
# gives missed findings there, not false ones, so nothing else is needed for them.
export ASAN_OPTIONS="halt_on_error=1:exitcode=86:detect_leaks=1:allocator_may_return_null=1:strict_init_order=1:check_initialization_order=1:log_path=$logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86"
export LSAN_OPTIONS="exitcode=86"

# One ctest call for the five labels (pull: the Hub client's libcurl callbacks and buffers; serve: a
# live server with its HTTP threads, streams, cancellations and drain): --no-tests=error fails the
# run if nothing at all matched rather than passing on no test.
rc=0
(cd build-asan && ctest --output-on-failure --no-tests=error -j"$(nproc)" -L 'unit|blocks|hostile|pull|serve' "$@") || rc=$?

if compgen -G "$logs/*" >/dev/null; then
  for f in "$logs"/*; do
    echo "==== sanitizer report $f" >&2
    cat "$f" >&2
  done
  echo "test_sanitized: sanitizer findings (above); failing" >&2
  exit 1
fi
exit "$rc"
