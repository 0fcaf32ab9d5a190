#!/usr/bin/env bash
# Builds (if needed) and runs the whole test suite through ctest: unit, blocks (golden
# activations from ../shared/golden) and e2e (the CLI). Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
FVLM_NO_DEMO=1 bash scripts/setup.sh
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
