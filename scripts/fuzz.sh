#!/usr/bin/env bash
# The libFuzzer harnesses of fuzz/ (clang-19, ASan + UBSan, in ./build-fuzz):
#
#   scripts/fuzz.sh TARGET SECONDS|-runs=N [libFuzzer flags]   fuzz one harness
#   scripts/fuzz.sh --regressions [RUNS]                        every harness over its committed
#        regression inputs and its seeds, once each, then RUNS (default 100000) new inputs from a
#        fixed seed, the same on every fresh checkout (CI)
#   scripts/fuzz.sh --list
#
# TARGETs: ir_parser onnx_import artifact npy npz tensor_proto. The corpus is build-fuzz/corpus/TARGET
# (seeded from the tests and ONNX's test data by fuzz/make_seeds.py, grown by every run) plus
# fuzz/regressions/TARGET (every input that ever crashed, committed). A new crash is written to
# build-fuzz/crashes/TARGET/ and the script exits non-zero; copy it to fuzz/regressions/TARGET once
# fixed. Needs the normal build (./build) for the dlc tool that compiles the artifact seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
targets="ir_parser onnx_import artifact npy npz tensor_proto"
if [ "${1:-}" = "--list" ]; then echo "$targets"; exit 0; fi
if [ $# -lt 1 ]; then sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; fi

jobs="${DLC_JOBS:-$(nproc)}"
if [ ! -f build-fuzz/build.ninja ]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-19 \
    -DCMAKE_CXX_COMPILER=clang++-19 -DDLC_FUZZ=ON >/dev/null
fi
cmake --build build-fuzz -j "$jobs" --target dlc_fuzzers
if [ ! -d build-fuzz/corpus ]; then
  [ -x build/tools/dlc ] || { echo "fuzz.sh: error: build/tools/dlc is missing (run scripts/build.sh first)" >&2; exit 1; }
  /usr/bin/python3 fuzz/make_seeds.py --dlc build/tools/dlc --out build-fuzz
fi
# Reports stop the run; leaks count (detect_leaks); UBSan prints stacks.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# fuzz TARGET FLAGS...: one libFuzzer run over the target's corpus folders.
fuzz() {
  local target=$1; shift
  local corpora=(build-fuzz/corpus/"$target")
  [ -d fuzz/regressions/"$target" ] && corpora+=(fuzz/regressions/"$target")
  mkdir -p build-fuzz/crashes/"$target"
  build-fuzz/fuzz/fuzz_"$target" -dict=build-fuzz/dicts/"$target".dict -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
    -artifact_prefix=build-fuzz/crashes/"$target"/ -print_final_stats=1 "$@" "${corpora[@]}"
}

if [ "$1" = "--regressions" ]; then
  runs="${2:-100000}"
  for t in $targets; do
    echo "== fuzz_$t: regression inputs and seeds, then $runs new inputs (-seed=1)"
    # -runs=0: every corpus input once (no mutation). Then a fixed-seed run of new inputs: the same
    # inputs on every fresh checkout, so CI is repeatable (the first corpus folder, build-fuzz's,
    # takes what it finds; the committed folders stay as they are).
    fuzz "$t" -runs=0 2>&1 | grep -E "stat::number_of_executed_units|ERROR|finding|SUMMARY" || true
    fuzz "$t" -seed=1 -runs="$runs" 2>&1 | grep -E "stat::number_of_executed_units|ERROR|finding|SUMMARY|Done" || true
    if [ -n "$(ls -A build-fuzz/crashes/"$t")" ]; then
      echo "fuzz.sh: fuzz_$t crashed; inputs in build-fuzz/crashes/$t/" >&2
      exit 1
    fi
  done
  echo "fuzz.sh: every harness passed its regressions, its seeds and $runs fixed-seed inputs"
  exit 0
fi

target=$1; shift
case " $targets " in *" $target "*) ;; *) echo "fuzz.sh: error: unknown target '$target' (one of: $targets)" >&2; exit 2;; esac
[ $# -ge 1 ] || { echo "fuzz.sh: error: give SECONDS or -runs=N" >&2; exit 2; }
limit=$1; shift
case "$limit" in
  -runs=*) fuzz "$target" "$limit" "$@" ;;
  *[!0-9]*) echo "fuzz.sh: error: '$limit' is not SECONDS or -runs=N" >&2; exit 2 ;;
  *) fuzz "$target" -max_total_time="$limit" "$@" ;;
esac
