#!/usr/bin/python3
"""One model test: `dlc run` on an exported model folder with no passes (-O0) and with the full
pipeline (-O3); every output must match PyTorch's, and the two runs must agree with each other
within --pipeline-rel (passes preserve numerics; with a compiled --target the kernels differ
between the two graphs, so that gap is reported, and every run is held to the PyTorch bound). Then the model is compiled at -O3 to .dlc
artifacts, once as exported (symbolic dims: buffers sized at run time) and once with the input
shapes fixed (every intermediate in the planned arena), and each is run through the runtime
library: outputs must match PyTorch's, and with the reference target be bit-identical to the -O3
ONNX run (same kernels). For a compiled target the fixed-shape artifact is held to the -O3 vs -O0
bound (it ran in another process: oneDNN's batched matmul once gave vit_b_16 results 2.6e-6 apart
between the in-memory compile and the artifact file, each deterministic), and the symbolic-dims
artifact (its oneDNN steps are specialized at run time, the cpu target's symbolic ops run reference
kernels) is held to the PyTorch bound and its gap to the -O3 run only reported.

usage: run_model_test.py --dlc PATH --model-dir DIR --output-dir OUT [--target T] [--rel 1e-3]
The model folder (from export_models.py) holds model.onnx, input_<i>.npy and expected_<i>.npy.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import compare  # noqa: E402


def numbered(folder, stem):
    """stem_0.npy, stem_1.npy, ... in order (stops at the first gap)."""
    files = []
    while os.path.exists(os.path.join(folder, f"{stem}_{len(files)}.npy")):
        files.append(os.path.join(folder, f"{stem}_{len(files)}.npy"))
    return files


def input_names(model):
    import onnx
    m = onnx.load(model, load_external_data=False)
    initializers = {t.name for t in m.graph.initializer}
    return [i.name for i in m.graph.input if i.name not in initializers]


def label(level):
    return f"-O{level}" if level in ("0", "3") else level


def run_dlc(cmd, label):
    print("$", " ".join(cmd), flush=True)
    start = time.time()
    proc = subprocess.run(cmd)
    print(f"{label} took {time.time() - start:.1f} s")
    if proc.returncode != 0:
        sys.exit(f"FAIL: {label} exited with status {proc.returncode}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dlc", required=True, help="the dlc executable")
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--output-dir", required=True)
    ap.add_argument("--target", help="passed to dlc run --target (default: dlc's default)")
    ap.add_argument("--rel", type=float, default=1e-3, help="bound vs PyTorch, times max|expected|")
    ap.add_argument("--pipeline-rel", type=float, default=1e-5, help="bound -O3 vs -O0, times max|-O0 output|")
    args = ap.parse_args()

    model = os.path.join(args.model_dir, "model.onnx")
    inputs = numbered(args.model_dir, "input")
    expected = numbered(args.model_dir, "expected")
    if not os.path.exists(model) or not inputs or not expected:
        sys.exit(f"run_model_test.py: error: {args.model_dir} lacks model.onnx, input_0.npy or expected_0.npy "
                 "(run export_models.py first)")
    failed = False
    outputs = {}
    static_shapes = [f"{name}={'x'.join(str(d) for d in np.load(f, mmap_mode='r').shape)}"
                     for name, f in zip(input_names(model), inputs)]
    for level in ("0", "3", "dlc", "dlc-static"):
        out_dir = os.path.join(args.output_dir, f"O{level}")
        # A stale output from an earlier run must not pass for this one.
        shutil.rmtree(out_dir, ignore_errors=True)
        os.makedirs(out_dir)
        target = ["--target", args.target] if args.target else []
        if level.startswith("dlc"):
            artifact = os.path.join(args.output_dir, f"{level}.dlc")
            compile_cmd = [args.dlc, "compile", model, "-O3", "-o", artifact] + target
            if level == "dlc-static":
                for spec in static_shapes:
                    compile_cmd += ["--input-shape", spec]
            run_dlc(compile_cmd, f"dlc compile ({level})")
            cmd = [args.dlc, "run", artifact]
        else:
            cmd = [args.dlc, "run", model, f"-O{level}"] + target
        for f in inputs:
            cmd += ["--input", f]
        cmd += ["--output-dir", out_dir]
        run_dlc(cmd, f"dlc run ({level})")
        outputs[level] = []
        for i, exp_path in enumerate(expected):
            out_path = os.path.join(out_dir, f"output_{i}.npy")
            if not os.path.exists(out_path):
                print(f"{label(level)} output_{i}: missing {out_path}")
                failed = True
                outputs[level].append(None)
                continue
            got = np.load(out_path)
            outputs[level].append(got)
            ok, msg = compare(got, np.load(exp_path), args.rel, f"{label(level)} output_{i} vs PyTorch")
            print(msg)
            failed |= not ok
        extra = glob.glob(os.path.join(out_dir, f"output_{len(expected)}*"))
        if extra:
            print(f"unexpected extra output {extra[0]} (PyTorch gave {len(expected)} outputs)")
            failed = True
    # With the reference kernels, passes must preserve numerics almost exactly. A compiled target
    # runs different kernels for the fused and unfused graphs (folded BatchNorm weights, other
    # blockings), so there each run is held to the PyTorch bound and the gap is only reported.
    reference_target = args.target in (None, "reference")
    for i, (raw, opt) in enumerate(zip(outputs["0"], outputs["3"])):
        if raw is not None and opt is not None:
            ok, msg = compare(opt, raw, args.pipeline_rel, f"output_{i} -O3 vs -O0")
            print(msg if reference_target else f"{msg} [reported only: target {args.target}]")
            failed |= not ok and reference_target
    for level in ("dlc", "dlc-static"):
        for i, (onnx_run, artifact_run) in enumerate(zip(outputs["3"], outputs[level])):
            if onnx_run is None or artifact_run is None:
                continue
            # The same target and shapes make the same kernels: bit-identical. With symbolic dims a
            # compiled target leaves ops to the reference kernels, so only the pipeline bound holds.
            if reference_target:
                same = onnx_run.dtype == artifact_run.dtype and onnx_run.shape == artifact_run.shape and \
                    np.array_equal(onnx_run, artifact_run, equal_nan=True)
                print(f"output_{i} {level} vs -O3 ONNX run: {'identical' if same else 'DIFFERENT'}")
                failed |= not same
            elif level == "dlc-static":  # same kernels, built in another process: the pipeline bound
                ok, msg = compare(artifact_run, onnx_run, args.pipeline_rel, f"output_{i} {level} vs -O3 ONNX run")
                print(msg)
                failed |= not ok
            else:  # the symbolic-dims artifact may run other kernels (reference ones on cpu): reported
                ok, msg = compare(artifact_run, onnx_run, args.pipeline_rel, f"output_{i} {level} vs -O3 ONNX run")
                print(f"{msg} [reported only: target {args.target}]")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
