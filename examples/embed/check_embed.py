#!/usr/bin/python3
"""The embedding example's test: compile examples/models/small_cnn.onnx to .dlc with `dlc
compile` (--target reference, onednn or cpu), run it with the C program, and compare what it prints with
PyTorch's output. It also checks that the program links no compiler library (LLVM, protobuf, ONNX;
oneDNN only for the onednn target, via libdlc_onednn)."""
import argparse
import os
import subprocess
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--embed", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--target", default="reference")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    artifact = os.path.join(args.work, "small_cnn.dlc")
    subprocess.run([args.dlc, "compile", os.path.join(args.models, "small_cnn.onnx"), "-o", artifact,
                    "--input-shape", "image=1x3x32x32", "--target", args.target], check=True)
    proc = subprocess.run([args.embed, artifact, os.path.join(args.models, "small_cnn_input.npy"), "3"],
                          capture_output=True, text=True)
    print(proc.stdout, proc.stderr, sep="")
    if proc.returncode != 0:
        sys.exit(f"FAIL: embed exited with status {proc.returncode}")
    lines = proc.stdout.splitlines()
    shape_line = next(i for i, l in enumerate(lines) if l.startswith("output shape"))
    got = np.array([float(x) for x in lines[shape_line + 1:]], dtype=np.float32)
    expected = np.load(os.path.join(args.models, "small_cnn_expected.npy")).reshape(-1)
    if got.shape != expected.shape:
        sys.exit(f"FAIL: {got.size} values printed, PyTorch gave {expected.size}")
    err = float(np.max(np.abs(got - expected)))
    bound = 1e-5 * max(1.0, float(np.max(np.abs(expected))))
    print(f"embed vs PyTorch: max abs error {err:.3g}, bound {bound:.3g}")
    ldd = subprocess.run(["ldd", args.embed], capture_output=True, text=True).stdout
    # The libraries' names only (a build path such as backends/llvm_cpu/ is not a dependency).
    names = " ".join(line.split()[0] for line in ldd.splitlines() if line.strip())
    # The compiler's libraries never; oneDNN only through libdlc_onednn for the onednn target.
    banned = [lib for lib in ("LLVM", "protobuf", "onnx") + (("dnnl",) if args.target != "onednn" else ())
              if lib.lower() in names.lower()]
    if banned:
        sys.exit(f"FAIL: the embedding example links {', '.join(banned)}:\n{ldd}")
    sys.exit(0 if err <= bound else "FAIL: outputs differ from PyTorch's")


if __name__ == "__main__":
    main()
