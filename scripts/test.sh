#!/usr/bin/env bash
# Builds (if needed) and runs the whole test suite through ctest: unit, blocks (golden
# activations from ../shared/golden), e2e (the CLI), hostile, serve, pull and fuzz; then all but e2e
# and fuzz again under ASan+UBSan (scripts/test_sanitized.sh, its own build in build-asan/). Used by
# .ci/run. FVLM_NO_SANITIZE=1 skips the sanitized pass for a quick local run (CI never sets it).
# Extra arguments go to the first ctest call (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
FVLM_NO_DEMO=1 bash scripts/setup.sh
(cd build && ctest --output-on-failure -j"$(nproc)" "$@")
if [ -z "${FVLM_NO_SANITIZE:-}" ]; then
  bash scripts/test_sanitized.sh
fi
