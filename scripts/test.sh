#!/usr/bin/env bash
# Installs dependencies, builds dlc and its tests, and runs the whole test suite: ctest (unit
# tests, examples, ONNX conformance, model tests against PyTorch, the install) and then pytest over
# the Python package (python/tests), which imports `dlc` as a user would.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j "${DLC_TEST_JOBS:-2}" "$@")
/usr/bin/python3 -m pytest -q -p no:cacheprovider python/tests
