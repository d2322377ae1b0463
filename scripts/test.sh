#!/usr/bin/env bash
# Installs dependencies, builds dlc and its tests, and runs the whole test suite: ctest (unit
# tests, examples, ONNX conformance, model tests against PyTorch, the install), the unit and
# conformance tests again under ASan + UBSan (scripts/sanitize.sh), every fuzzer over its
# regression inputs and seeds plus a short random run (scripts/fuzz.sh --regressions), and pytest
# over the Python package (python/tests, importing `dlc` as a user would).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j "${DLC_TEST_JOBS:-2}" "$@")
scripts/sanitize.sh
scripts/fuzz.sh --regressions "${DLC_FUZZ_RUNS:-100000}"
# Last, so that its closing line ends the log.
/usr/bin/python3 -m pytest -q -p no:cacheprovider python/tests
