#!/usr/bin/python3
"""Exports a small MLP from PyTorch, compiles its training step with `dlc train --export-step`
(oneDNN target, batch 32) and runs the C example on it (which checks its own results).

usage: check_train_step.py --dlc DLC --train-step EXE --work DIR
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--train-step", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
    onnx_path = os.path.join(a.work, "mlp.onnx")
    torch.onnx.export(model.eval(), (torch.zeros(1, 8),), onnx_path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, opset_version=17, do_constant_folding=False)
    data = os.path.join(a.work, "data.npz")
    np.savez(data, x=np.zeros((32, 8), np.float32), target=np.zeros(32, np.int64))
    step = os.path.join(a.work, "step.dlc")
    subprocess.run([a.dlc, "train", onnx_path, "--data", data, "-o", os.path.join(a.work, "unused.onnx"), "--epochs", "0",
                    "--batch", "32", "--optimizer", "adam", "--lr", "0.01", "--export-step", step], check=True)
    p = subprocess.run([a.train_step, step])
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
