#!/usr/bin/env bash
# Configures and builds dlc (Release-with-debug-info, Ninja, ccache) into ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${DLC_JOBS:-$(nproc)}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
