#!/usr/bin/env bash
# The sanitizer runs of CI: the unit tests and the ONNX conformance suite built with
# AddressSanitizer and UndefinedBehaviorSanitizer (clang-19, in ./build-fuzz, the tree the fuzzers
# use) and run with ctest, every report failing its test; then the runtime's load test
# (bench/load_test: 8 sessions on 8 threads) at 10,000 runs each in the normal build and at 300
# under ThreadSanitizer (./build-tsan). The runtime and CLI test suites need the whole compiler
# instrumented and are left to a longer local run (see the README).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${DLC_JOBS:-$(nproc)}"
if [ ! -f build-fuzz/build.ninja ]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-19 \
    -DCMAKE_CXX_COMPILER=clang++-19 -DDLC_FUZZ=ON >/dev/null
fi
cmake --build build-fuzz -j "$jobs" --target dlc_unit_tests dlc_conformance
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Every unit test (GoogleTest names) and the conformance runner on the reference backend.
(cd build-fuzz && ctest --output-on-failure -j "${DLC_TEST_JOBS:-2}" -R '^(onnx_conformance$|[A-Z][A-Za-z0-9]*\.)' "$@")

# The load test: concurrent sessions of a static CNN and a symbolic-shape encoder.
/usr/bin/python3 bench/load_test/run.py --build build --runs 10000
if [ ! -f build-tsan/build.ninja ]; then
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-19 \
    -DCMAKE_CXX_COMPILER=clang++-19 -DDLC_SANITIZE=thread -DDLC_BUILD_TESTS=OFF >/dev/null
fi
cmake --build build-tsan -j "$jobs" --target load_test
TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1}" /usr/bin/python3 bench/load_test/run.py --build build --runs 300 \
  --load-test build-tsan/bench/load_test
