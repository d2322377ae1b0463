#!/usr/bin/env bash
# The main job: install dependencies, build everything, then run the bundled example model
# (a small CNN exported from PyTorch) and check dlc's output against PyTorch's.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
model=examples/models/small_cnn.onnx
out=build/demo
echo "== dlc inspect $model"
build/tools/dlc inspect "$model"
echo "== dlc run $model"
build/tools/dlc run "$model" --input examples/models/small_cnn_input.npy
build/tools/dlc run "$model" --input examples/models/small_cnn_input.npy --output-dir "$out"
echo "== compare with PyTorch"
/usr/bin/python3 tests/models/compare.py "$out/output_0.npy" examples/models/small_cnn_expected.npy
echo "== the same kind of model built with the C++ API (examples/small_cnn.cc)"
build/examples/example_small_cnn
