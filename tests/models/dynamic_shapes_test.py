#!/usr/bin/python3
"""One artifact for any shape: models exported from PyTorch with symbolic dims (batch, sequence,
image H and W) are compiled once with `dlc compile --target onednn` (or cpu) and no --input-shape,
then run through the runtime at several shapes, each against PyTorch's output for the same input
(|dlc - torch| <= --rel * max|torch|). The compute must stay on the target: `dlc inspect --format
json` must show no reference step other than shape arithmetic and embedding lookups (on cpu, and
the ops it leaves to the reference kernels at a fixed shape too). A shape the model
cannot take (an odd image size whose skip connection no longer lines up) must fail with a one-line
error, and a wrong channel count likewise.

usage: dynamic_shapes_test.py --dlc PATH --work DIR [--target onednn|cpu] [--rel 1e-3]
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import compare  # noqa: E402
from export_models import BertBase, Fcn, TransformerSmall  # noqa: E402

# Reference steps that may stay in an onednn artifact: shape arithmetic and gathers (embeddings).
SHAPE_OPS = {"Shape", "Gather", "Range", "Unsqueeze", "ConstantOfShape", "Concat", "Squeeze", "Cast", "Slice", "Reshape"}


def tokens(n, s):
    return np.random.default_rng(n * 1000 + s).integers(0, 1000, (n, s), dtype=np.int64)


def floats(*shape):
    return np.random.default_rng(sum(shape)).standard_normal(shape, dtype=np.float32)


# name -> (model, example input, input name, output name, dynamic axes, shapes to run, a shape it must refuse)
CASES = {
    "transformer": (TransformerSmall, floats(2, 16, 64), "x", "y", {0: "N", 1: "S"},
                    [floats(1, 16, 64), floats(3, 5, 64), floats(2, 33, 64), floats(1, 1, 64)], floats(2, 7, 32)),
    "bert": (lambda: BertBase(vocab=1000, d=192, layers=2), tokens(2, 16), "input_ids", "hidden", {0: "N", 1: "S"},
             [tokens(1, 16), tokens(4, 128), tokens(1, 384), tokens(8, 16)], None),
    "fcn": (Fcn, floats(1, 3, 32, 32), "image", "mask", {0: "N", 2: "H", 3: "W"},
            [floats(1, 3, 64, 64), floats(2, 3, 96, 160), floats(1, 3, 224, 224)], floats(1, 3, 66, 66)),
}


def run(cmd, check=True):
    print("$", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stdout.write(proc.stderr)
    if check and proc.returncode != 0:
        sys.exit(f"FAIL: {cmd[1]} exited with status {proc.returncode}")
    return proc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--rel", type=float, default=1e-3)
    ap.add_argument("--target", default="onednn", choices=["onednn", "cpu"])
    ap.add_argument("--cases", default=",".join(CASES))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    torch.set_num_threads(2)
    failed = False
    for name in args.cases.split(","):
        make, example, in_name, out_name, axes, shapes, refused = CASES[name]
        torch.manual_seed(0)
        model = make().eval()
        onnx_path = os.path.join(args.work, f"{name}.onnx")
        # Gradients stay enabled (export and reference runs): under no_grad nn.TransformerEncoderLayer
        # takes a fused path that has no ONNX export.
        torch.onnx.export(model, (torch.from_numpy(example),), onnx_path, opset_version=17, input_names=[in_name],
                          output_names=[out_name], dynamic_axes={in_name: axes, out_name: axes})
        artifact = os.path.join(args.work, f"{name}_{args.target}.dlc")
        run([args.dlc, "compile", onnx_path, "--target", args.target, "-o", artifact])
        info = json.loads(run([args.dlc, "inspect", artifact, "--format", "json"]).stdout)
        kernels = info["kernels"]  # "library/kernel" -> steps
        left = {k.split("/")[1] for k in kernels if k.startswith("reference/")} - SHAPE_OPS
        if args.target == "cpu":
            # The cpu target lowers fewer ops than oneDNN (no ConvTranspose): symbolic dims must leave
            # nothing more to the reference kernels than the same model compiled at a fixed shape.
            fixed = os.path.join(args.work, f"{name}_{args.target}_fixed.dlc")
            shape = "x".join(str(d) for d in example.shape)
            run([args.dlc, "compile", onnx_path, "--target", args.target, "--input-shape", f"{in_name}={shape}", "-o", fixed])
            fixed_kernels = json.loads(run([args.dlc, "inspect", fixed, "--format", "json"]).stdout)["kernels"]
            left -= {k.split("/")[1] for k in fixed_kernels if k.startswith("reference/")}
        left = sorted(left)
        compiled = kernels.get(f"{args.target}/segment", 0)
        said = {"onednn": "onednn steps are built", "cpu": "cpu steps of symbolic sizes read them"}[args.target]
        if info["symbolic_dims"] != list(axes.values()) or said not in info["specialized"]:
            print(f"FAIL {name}: dlc inspect shows symbolic dims {info['symbolic_dims']}: {info['specialized']!r}")
            failed = True
        print(f"{name}: {compiled} {args.target} steps; reference steps beyond shape arithmetic: {left or 'none'}")
        if left or not compiled:
            print(f"FAIL {name}: compute left to the reference kernels")
            failed = True
        for i, x in enumerate(shapes):
            x_path = os.path.join(args.work, f"{name}_in{i}.npy")
            out_dir = os.path.join(args.work, f"{name}_{args.target}_out{i}")
            np.save(x_path, x)
            want = model(torch.from_numpy(x)).detach().numpy()
            run([args.dlc, "run", artifact, "--input", x_path, "--output-dir", out_dir])
            ok, msg = compare(np.load(os.path.join(out_dir, "output_0.npy")), want, args.rel,
                              f"{name} {list(x.shape)} vs PyTorch")
            print(msg)
            failed |= not ok
        if refused is not None:
            x_path = os.path.join(args.work, f"{name}_refused.npy")
            np.save(x_path, refused)
            proc = run([args.dlc, "run", artifact, "--input", x_path], check=False)
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            good = proc.returncode != 0 and len(lines) == 1 and lines[0].startswith("dlc: error:")
            print(f"{name} {list(refused.shape)}: {'refused with one line' if good else 'NOT REFUSED CLEANLY'}")
            failed |= not good
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
