#!/usr/bin/python3
"""The runtime under load: 8 sessions on 8 threads, 10,000 runs each, of two models at once — the
example CNN compiled for --target cpu with a static shape, and a small Transformer encoder exported
from PyTorch with symbolic batch and sequence (its shape-dependent ops on the reference kernels),
run at batch 1 and 2 and sequence 8, 16 and 32 in turn. Every output is compared byte for byte with
a single-threaded run; resident memory after warm-up and at the end must agree within 1 MiB.

usage: run.py [--build build] [--runs 10000] [--threads 8] [--load-test BIN]
--load-test picks another build of bench/load_test (the TSan one: build-tsan/bench/load_test).
"""
import argparse
import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def export_transformer(path):
    import torch
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=32, nhead=2, dim_feedforward=64, batch_first=True, dropout=0.0).eval()
    torch.onnx.export(layer, torch.randn(1, 8, 32), path, input_names=["x"], output_names=["y"], opset_version=17,
                      dynamic_axes={"x": {0: "N", 1: "S"}, "y": {0: "N", 1: "S"}})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--runs", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--load-test", help="the load_test binary (default: BUILD/bench/load_test)")
    a = ap.parse_args()
    dlc = os.path.join(a.build, "tools", "dlc")
    work = os.path.join(a.build, "bench", "load_test_work")
    os.makedirs(work, exist_ok=True)
    cnn, tr_onnx, tr = (os.path.join(work, f) for f in ("small_cnn_cpu.dlc", "encoder.onnx", "encoder_cpu.dlc"))
    subprocess.run([dlc, "compile", os.path.join(REPO, "examples", "models", "small_cnn.onnx"), "-o", cnn, "--target", "cpu",
                    "--input-shape", "image=1x3x32x32"], check=True)
    if not os.path.exists(tr_onnx):
        export_transformer(tr_onnx)
    subprocess.run([dlc, "compile", tr_onnx, "-o", tr, "--target", "cpu"], check=True, stderr=subprocess.DEVNULL)
    binary = a.load_test or os.path.join(a.build, "bench", "load_test")
    cmd = [binary, "--model", cnn, "--model", tr, "--threads", str(a.threads), "--runs", str(a.runs),
           "--dim", "N=1,2", "--dim", "S=8,16,32"]
    print("$ " + " ".join(cmd), flush=True)
    sys.exit(subprocess.run(cmd).returncode)


if __name__ == "__main__":
    main()
