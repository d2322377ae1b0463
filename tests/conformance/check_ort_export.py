#!/usr/bin/python3
"""ONNX's backend-test models through `dlc export`, run on ONNX Runtime 1.30: every case with
tensor inputs is exported, and both the original and the exported model run on ONNX Runtime
(CPU, graph optimizations off) against the case's expected outputs (ONNX's tolerances, rtol 1e-3,
atol 1e-7). A case that passes as given must pass exported: ONNX Runtime, not dlc, judges the
export. Cases ONNX Runtime cannot run either way (training ops, bf16, random draws) are counted.

usage: check_ort_export.py --dlc DLC --data DIR --work DIR --ort-cache DIR [--jobs 2]
"""
import argparse
import concurrent.futures
import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
from check_export_ort import install_ort  # noqa: E402

FOLDERS = ("node", "pytorch-converted", "pytorch-operator", "simple")
READABLE = {"float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "bool"}


def read_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def numbered(folder, stem):
    files = []
    while os.path.exists(os.path.join(folder, f"{stem}_{len(files)}.pb")):
        files.append(os.path.join(folder, f"{stem}_{len(files)}.pb"))
    return files


def prepare(case_dir, work, dlc):
    """The case's ORT jobs (original, exported), or (None, reason) when it is not a tensor case."""
    data = os.path.join(case_dir, "test_data_set_0")
    model = onnx.load(os.path.join(case_dir, "model.onnx"), load_external_data=False)
    inits = {t.name for t in model.graph.initializer}
    names = [i for i in model.graph.input if i.name not in inits]
    specs = []
    for i, f in enumerate(numbered(data, "input")):
        if i >= len(names) or not names[i].type.HasField("tensor_type"):
            return None, "non-tensor input"
        a = np.ascontiguousarray(read_pb(f))
        dtype = "bool" if a.dtype == np.bool_ else str(a.dtype)
        if dtype not in READABLE:
            return None, f"{dtype} input"
        path = os.path.join(work, f"in_{i}.bin")
        a.tofile(path)
        specs.append({"name": names[i].name, "dtype": dtype, "shape": list(a.shape), "file": path})
    exported = os.path.join(work, "exported.onnx")
    proc = subprocess.run([dlc, "export", os.path.join(case_dir, "model.onnx"), "-o", exported],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        return "export failed: " + proc.stdout.strip(), None
    return [{"model": os.path.join(case_dir, "model.onnx"), "inputs": specs, "out_dir": os.path.join(work, "original")},
            {"model": exported, "inputs": specs, "out_dir": os.path.join(work, "exported")}], None


def verdict(out_dir, expected):
    """'' when ORT's outputs in out_dir match the expected .pb files, else a reason."""
    if os.path.exists(os.path.join(out_dir, "error.txt")):
        return "ORT: " + open(os.path.join(out_dir, "error.txt")).read()
    outs = json.load(open(os.path.join(out_dir, "outputs.json")))
    if len(outs) != len(expected):
        return f"{len(outs)} outputs, expected {len(expected)}"
    for i, (o, f) in enumerate(zip(outs, expected)):
        dtype = np.bool_ if o["dtype"] == "bool" else np.dtype(o["dtype"])
        got = np.fromfile(os.path.join(out_dir, o["file"]), dtype=dtype).reshape(o["shape"])
        want = read_pb(f)
        if got.shape != want.shape:
            return f"output {i}: shape {list(got.shape)}, expected {list(want.shape)}"
        if want.dtype.kind == "f":
            if not np.allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-3, atol=1e-7, equal_nan=True):
                return f"output {i}: values differ"
        elif not np.array_equal(got, want):
            return f"output {i}: values differ"
    return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--ort-cache", required=True)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    if not os.path.isdir(args.data):
        print(f"SKIP: ONNX test data not found at {args.data}")
        return 77
    ort_dir = install_ort(args.ort_cache)
    shutil.rmtree(args.work, ignore_errors=True)
    cases = sorted(c for f in FOLDERS for c in glob.glob(os.path.join(args.data, f, "*"))
                   if os.path.exists(os.path.join(c, "model.onnx")) and os.path.isdir(os.path.join(c, "test_data_set_0")))
    works = {c: os.path.join(args.work, os.path.relpath(c, args.data)) for c in cases}
    for w in works.values():
        os.makedirs(w)
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        prepared = dict(zip(cases, pool.map(lambda c: prepare(c, works[c], args.dlc), cases)))
    failures, jobs, skipped = [], [], 0
    for c, (job, why) in prepared.items():
        if isinstance(job, str):
            failures.append(f"{os.path.relpath(c, args.data)}: {job}")
        elif job is None:
            skipped += 1
        else:
            jobs += job
    with open(os.path.join(args.work, "jobs.json"), "w") as f:
        json.dump(jobs, f)
    proc = subprocess.run(["node", os.path.join(HERE, "..", "models", "ort_run.js"), ort_dir, "--batch",
                           os.path.join(args.work, "jobs.json")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.exit(f"FAIL: ort_run.js --batch exited with status {proc.returncode}: {proc.stdout[-2000:]}")
    counts = {"both": 0, "exported only": 0, "neither": 0}
    for c, (job, _) in prepared.items():
        if not isinstance(job, list):
            continue
        expected = numbered(os.path.join(c, "test_data_set_0"), "output")
        orig, exp = verdict(job[0]["out_dir"], expected), verdict(job[1]["out_dir"], expected)
        name = os.path.relpath(c, args.data)
        if not orig and exp:
            failures.append(f"{name}: passes on ONNX Runtime as given, exported: {exp}")
        else:
            counts["both" if not orig else "exported only" if not exp else "neither"] += 1
    for f in failures:
        print("FAIL", f)
    print(f"{len(cases)} cases, {skipped} without tensor inputs ORT's node API reads; on ONNX Runtime: "
          f"{counts['both']} pass as given and exported, {counts['exported only']} pass only exported (older opsets "
          f"ORT lacks kernels for), {counts['neither']} pass neither, {len(failures)} regressions")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
