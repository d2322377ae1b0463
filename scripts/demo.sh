#!/usr/bin/env bash
# The main job: install dependencies, build everything, then run the bundled example model
# (a small CNN exported from PyTorch), compile it to a .dlc artifact (reference kernels, and native
# code with --target cpu) and run that through the
# runtime library (from `dlc run` and from the C embedding example), checking every output
# against PyTorch's.
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
echo "== dlc compile $model -o $out/small_cnn.dlc"
build/tools/dlc compile "$model" -o "$out/small_cnn.dlc" --input-shape image=1x3x32x32
build/tools/dlc inspect "$out/small_cnn.dlc"
echo "== dlc run $out/small_cnn.dlc (libdlcrt + the reference kernel library)"
build/tools/dlc run "$out/small_cnn.dlc" --input examples/models/small_cnn_input.npy --output-dir "$out/dlc"
/usr/bin/python3 tests/models/compare.py "$out/dlc/output_0.npy" examples/models/small_cnn_expected.npy
echo "== the artifact from C (examples/embed/embed.c links only libdlcrt and libdlc_kernels_reference)"
/usr/bin/python3 examples/embed/check_embed.py --dlc build/tools/dlc --embed build/examples/embed/example_embed \
  --models examples/models --work "$out"
echo "== dlc compile --target cpu: native code generated with LLVM, in the artifact and as a static bundle"
build/tools/dlc compile "$model" -o "$out/small_cnn_cpu.dlc" --target cpu --input-shape image=1x3x32x32
build/tools/dlc run "$out/small_cnn_cpu.dlc" --input examples/models/small_cnn_input.npy --output-dir "$out/cpu"
/usr/bin/python3 tests/models/compare.py "$out/cpu/output_0.npy" examples/models/small_cnn_expected.npy
build/examples/bundle/example_bundle build/examples/bundle/small_cnn.weights examples/models/small_cnn_input.npy \
  examples/models/small_cnn_expected.npy | tail -1
echo "== the same kind of model built with the C++ API (examples/small_cnn.cc)"
build/examples/example_small_cnn
echo "== from Python (import dlc, from another folder): the model compiled for --target cpu, against PyTorch"
repo="$PWD"
(cd /tmp && /usr/bin/python3 -c "
import numpy as np, dlc
model = dlc.load('$repo/$model')
x = np.load('$repo/examples/models/small_cnn_input.npy')
out = model.compile('cpu', input_shapes={'image': x.shape}).run({'image': x})
got, want = next(iter(out.values())), np.load('$repo/examples/models/small_cnn_expected.npy')
err = float(np.max(np.abs(got - want)))
print(f'{model}: max|dlc - torch| = {err:.2e}')
assert err <= 1e-4 * float(np.max(np.abs(want)))
")
