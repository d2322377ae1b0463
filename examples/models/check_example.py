#!/usr/bin/python3
"""Runs one builder example (examples/models/NAME.cc) and checks its ONNX export: the example
itself checks its forward pass on every CPU target against the reference target and that its
loss falls; this script then has it export the trained model (--export) with the inputs it ran
and the reference target's outputs (--io), checks the file with onnx.checker (full_check) and runs
it under ONNX Runtime 1.30 (npm onnxruntime-node, installed into --ort-cache once), whose outputs
must match dlc's within --rel (1e-4) of max|output| (integer outputs exactly).

usage: check_example.py --exe EXAMPLE --work DIR --ort-cache DIR [--rel 1e-4]
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "models"))
import check_export_ort  # noqa: E402  (ONNX Runtime through node)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exe", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--ort-cache", required=True)
    ap.add_argument("--rel", type=float, default=1e-4)
    a = ap.parse_args()
    name = os.path.basename(a.exe).removeprefix("example_")
    os.makedirs(a.work, exist_ok=True)
    model, io_path = os.path.join(a.work, f"{name}.onnx"), os.path.join(a.work, f"{name}.io.npz")
    for stale in (model, io_path):
        if os.path.exists(stale):
            os.remove(stale)
    proc = subprocess.run([a.exe, "--export", model, "--io", io_path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(proc.stdout, end="")
    if proc.returncode != 0:
        sys.exit(f"FAIL: {name} exited with status {proc.returncode}")
    onnx.checker.check_model(onnx.load(model), full_check=True)
    io = np.load(io_path)
    inputs = [io[f"input:{n}"] for n in check_export_ort.graph_inputs(model)]
    ort_dir = check_export_ort.install_ort(a.ort_cache)
    outs, _ = check_export_ort.run_ort(ort_dir, model, inputs, os.path.join(a.work, "ort"))
    names = [o.name for o in onnx.load(model, load_external_data=False).graph.output]
    ok = True
    for out_name, got in zip(names, outs):
        good, message = check_export_ort.compare(io[f"output:{out_name}"], got, a.rel)
        print(f"ONNX Runtime vs dlc, output '{out_name}': {message}{'' if good else '  FAIL'}")
        ok = ok and good
    if not ok:
        sys.exit(f"FAIL: {name}: ONNX Runtime's outputs differ from dlc's")
    print(f"{name}: ok (forward on every CPU target, loss fell, ONNX export matches under ONNX Runtime)")


if __name__ == "__main__":
    main()
