#!/usr/bin/env bash
# Installs fastvlm's Debian packages, builds it (Release), and runs it on a sample image.
#   bash scripts/setup.sh            # install + build + demo
#   FVLM_NO_DEMO=1 bash scripts/setup.sh   # install + build only (what CI uses)
set -euo pipefail
cd "$(dirname "$0")/.."

# build-essential's g++ brings libasan/libubsan/liblsan (via libgcc-12-dev), all that the
# sanitized test build (scripts/test_sanitized.sh) needs.
PACKAGES=(build-essential cmake pkg-config libcli11-dev libspdlog-dev libfmt-dev libopencv-dev
          libdnnl-dev clang-format doctest-dev nlohmann-json3-dev libpcre2-dev libutf8proc-dev
          clang libclang-rt-14-dev    # clang: the GGUF reader's libFuzzer target
          strace                      # strace: the hostile test that checks one write(2) per result line
          libcpp-httplib-dev curl     # fastvlm serve's HTTP server (cpp-httplib; also tests/pull's imitation of the Hub); curl: tests/serve's raw requests
          libcurl4-openssl-dev libssl-dev)  # `pull`: HTTPS downloads from the Hub, SHA-256 checks

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

# tests/serve drives the server with the official `openai` npm client (versions pinned by
# tests/serve/client/package-lock.json; node_modules is not committed). Node and npm are needed
# for that suite only: Debian's nodejs + npm are installed when no npm is on the PATH (a machine
# with its own Node, e.g. NodeSource's, keeps it).
if ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing nodejs npm (tests/serve's OpenAI client)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >&2
fi
(cd tests/serve/client && npm ci --no-audit --no-fund --silent) >&2

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${FVLM_CMAKE_ARGS:-} >&2
cmake --build build -j"$(nproc)" >&2

if [ -z "${FVLM_NO_DEMO:-}" ]; then
  # The main job on a sample. Without real weights (they cannot be downloaded here) the demo uses
  # the golden test checkpoint: a real FastVLM layout with small RANDOM weights, so the whole
  # pipeline runs for real but the answer text is noise. Set FASTVLM_MODEL to a real checkpoint.
  model="${FASTVLM_MODEL:-../shared/golden/tiny/model}"
  [ -n "${FASTVLM_MODEL:-}" ] || echo "setup: demo with the golden test model (random weights: the answer is noise)" >&2
  ./build/fastvlm describe samples/receipt.png samples/chelsea_exif_rot6.jpg -m "$model" --max-tokens 16
fi
