#!/usr/bin/env bash
# Installs dependencies, builds dlc and its tests, and runs the whole test suite with ctest
# (unit tests, examples, ONNX conformance, model tests against PyTorch).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
ctest --output-on-failure -j "${DLC_TEST_JOBS:-2}" "$@"
