#!/usr/bin/env bash
# Installs fastvlm's Debian packages, builds it (Release), and runs it on a sample image.
#   bash scripts/setup.sh            # install + build + demo
#   FVLM_NO_DEMO=1 bash scripts/setup.sh   # install + build only (what CI uses)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config libcli11-dev libspdlog-dev libfmt-dev libopencv-dev
          libdnnl-dev libeigen3-dev doctest-dev nlohmann-json3-dev libpcre2-dev libutf8proc-dev)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${FVLM_CMAKE_ARGS:-} >&2
cmake --build build -j"$(nproc)" >&2

if [ -z "${FVLM_NO_DEMO:-}" ]; then
  model="${FASTVLM_MODEL:-../shared/golden/tiny/model}"
  echo "setup: built build/fastvlm; demo on samples/ with model $model" >&2
  echo "setup: (the golden tiny model has random weights: its answers are noise, the pipeline is real)" >&2
  ./build/fastvlm inspect "$model"
fi
