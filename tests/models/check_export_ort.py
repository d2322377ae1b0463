#!/usr/bin/python3
"""`dlc export` against ONNX's checker and ONNX Runtime: every exported model must pass
onnx.checker.check_model(full_check=True), and ONNX Runtime 1.30 (npm onnxruntime-node, CPU,
graph optimizations off) running it must give dlc's outputs for the model it came from (`dlc run
-O0` on the source: the ONNX file, or the .dlcir that `dlc opt -O3` left with fused ops) within
--rel (1e-4) of max|output|.

The models: examples/models/small_cnn.onnx; the model-test zoo that export_models.py wrote (the
files are reused, not exported again); small_cnn and the transformer after `dlc opt -O3` (fused
ops, unfused again by the export); the transformer at --opset 13 (LayerNormalization decomposed)
and small_cnn with --external-data. ONNX Runtime is installed into --ort-cache once with npm; if
that fails the test fails.

usage: check_export_ort.py --dlc DLC --models-dir DIR --work DIR --ort-cache DIR [--models a,b] [--rel 1e-4]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "examples", "models")
ORT_VERSION = "1.30.0"


def fail(message):
    sys.exit(f"FAIL: {message}")


def run(cmd, what):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        fail(f"{what} exited with status {proc.returncode}:\n$ {' '.join(cmd)}\n{proc.stdout}")
    return proc.stdout


def install_ort(cache):
    """onnxruntime-node into cache/ort once (its CPU library ships in the package)."""
    folder = os.path.join(cache, "ort")
    pkg = os.path.join(folder, "node_modules", "onnxruntime-node", "package.json")
    if os.path.exists(pkg) and json.load(open(pkg))["version"] == ORT_VERSION:
        return folder
    if not shutil.which("npm") or not shutil.which("node"):
        fail("node and npm are needed to install onnxruntime-node (apt-get install nodejs npm)")
    os.makedirs(folder, exist_ok=True)
    if not os.path.exists(os.path.join(folder, "package.json")):
        with open(os.path.join(folder, "package.json"), "w") as f:
            f.write('{"name": "dlc-test-ort", "private": true}\n')
    print(f"installing onnxruntime-node@{ORT_VERSION} into {folder}", flush=True)
    run(["npm", "install", "--prefix", folder, "--ignore-scripts", "--no-audit", "--no-fund",
         f"onnxruntime-node@{ORT_VERSION}"], "npm install")
    if not os.path.exists(pkg):
        fail(f"npm install left no {pkg}")
    return folder


def graph_inputs(model_path):
    m = onnx.load(model_path, load_external_data=False)
    inits = {t.name for t in m.graph.initializer}
    return [i.name for i in m.graph.input if i.name not in inits]


def numbered(folder, stem):
    files = []
    while os.path.exists(os.path.join(folder, f"{stem}_{len(files)}.npy")):
        files.append(os.path.join(folder, f"{stem}_{len(files)}.npy"))
    return files


def run_ort(ort_dir, model, inputs, work):
    """ONNX Runtime's outputs for `inputs` (arrays in graph-input order)."""
    names = graph_inputs(model)
    if len(names) != len(inputs):
        fail(f"{model} has {len(names)} inputs, {len(inputs)} given")
    os.makedirs(work, exist_ok=True)
    spec = []
    for i, (name, a) in enumerate(zip(names, inputs)):
        a = np.ascontiguousarray(a)
        a.tofile(os.path.join(work, f"in_{i}.bin"))
        spec.append({"name": name, "dtype": "bool" if a.dtype == np.bool_ else str(a.dtype),
                     "shape": list(a.shape), "file": f"in_{i}.bin"})
    with open(os.path.join(work, "inputs.json"), "w") as f:
        json.dump(spec, f)
    out_dir = os.path.join(work, "ort_out")
    line = run(["node", os.path.join(HERE, "ort_run.js"), ort_dir, model, os.path.join(work, "inputs.json"), out_dir],
               "ort_run.js").strip().splitlines()[-1]
    outs = []
    for o in json.load(open(os.path.join(out_dir, "outputs.json"))):
        dtype = np.bool_ if o["dtype"] == "bool" else np.dtype(o["dtype"])
        outs.append(np.fromfile(os.path.join(out_dir, o["file"]), dtype=dtype).reshape(o["shape"]))
    return outs, line


def run_dlc(dlc, model, input_files, work):
    out_dir = os.path.join(work, "dlc_out")
    shutil.rmtree(out_dir, ignore_errors=True)
    cmd = [dlc, "run", model, "-O0", "--output-dir", out_dir]
    for f in input_files:
        cmd += ["--input", f]
    run(cmd, "dlc run")
    return [np.load(f) for f in numbered(out_dir, "output")]


def compare(want, got, rel):
    """(ok, message) for ORT's `got` against dlc's `want`."""
    if want.shape != got.shape:
        return False, f"shape {list(got.shape)}, dlc's {list(want.shape)}"
    if want.dtype.kind in "biu":
        bad = int(np.count_nonzero(want.astype(np.int64) != got.astype(np.int64)))
        return bad == 0, f"{bad} of {want.size} elements differ (exact)"
    w, g = want.astype(np.float64), got.astype(np.float64)
    if not np.all(np.isfinite(g) == np.isfinite(w)):
        return False, "non-finite values differ"
    finite = np.isfinite(w)
    err = float(np.max(np.abs(w[finite] - g[finite]), initial=0.0))
    bound = rel * float(np.max(np.abs(w[finite]), initial=0.0))
    return err <= bound, f"max abs error {err:.3g}, bound {bound:.3g} ({err / max(bound / rel, 1e-30):.2g} of max|y|)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--models-dir", required=True, help="export_models.py's output folder")
    ap.add_argument("--models", default="mlp,resnet18,mobilenet_v2,transformer,lstm")
    ap.add_argument("--work", required=True)
    ap.add_argument("--ort-cache", required=True)
    ap.add_argument("--rel", type=float, default=1e-4)
    args = ap.parse_args()
    ort_dir = install_ort(args.ort_cache)
    os.makedirs(args.work, exist_ok=True)

    cnn = os.path.join(EXAMPLES, "small_cnn.onnx")
    cnn_inputs = [os.path.join(EXAMPLES, "small_cnn_input.npy")]
    # (name, source model, input files, extra `dlc export` options)
    cases = [("small_cnn", cnn, cnn_inputs, []),
             ("small_cnn_external_data", cnn, cnn_inputs, ["--external-data"])]
    zoo = {}
    for name in args.models.split(","):
        folder = os.path.join(args.models_dir, name)
        model = os.path.join(folder, "model.onnx")
        if not os.path.exists(model):
            fail(f"{model} is missing (the models_export_small fixture writes it)")
        zoo[name] = (model, numbered(folder, "input"))
        cases.append((name, model, zoo[name][1], []))
    fused = os.path.join(args.work, "small_cnn_fused.dlcir")
    run([args.dlc, "opt", cnn, "-O3", "--target", "cpu", "-o", fused], "dlc opt")
    cases.append(("small_cnn_fused", fused, cnn_inputs, []))
    if "transformer" in zoo:
        model, inputs = zoo["transformer"]
        fused = os.path.join(args.work, "transformer_fused.dlcir")
        run([args.dlc, "opt", model, "-O3", "-o", fused], "dlc opt")
        text = open(fused).read()
        for op in ("Attention(", "FusedMatMul(", '"Gelu"'):  # Gelu fused as a FusedMatMul activation
            if op not in text:
                fail(f"dlc opt -O3 of the transformer has no {op}: the fused case would test nothing")
        cases.append(("transformer_fused", fused, inputs, []))
        cases.append(("transformer_opset13", model, inputs, ["--opset", "13"]))

    failed = False
    for name, source, input_files, options in cases:
        work = os.path.join(args.work, name)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        exported = os.path.join(work, "exported.onnx")
        run([args.dlc, "export", source, "-o", exported] + options, "dlc export")
        try:
            onnx.checker.check_model(exported, full_check=True)
        except Exception as e:  # onnx raises ValidationError / InferenceError
            print(f"{name}: onnx.checker: {str(e).splitlines()[0]}")
            failed = True
            continue
        m = onnx.load(exported, load_external_data=False)
        fused_left = [n.op_type for n in m.graph.node if n.domain == "dlc"]
        if fused_left:
            print(f"{name}: dlc-domain ops in the export: {fused_left}")
            failed = True
            continue
        want = run_dlc(args.dlc, source, input_files, work)
        got, ort_line = run_ort(ort_dir, exported, [np.load(f) for f in input_files], work)
        if len(want) != len(got):
            print(f"{name}: ORT gave {len(got)} outputs, dlc {len(want)}")
            failed = True
            continue
        ops = len(m.graph.node)
        for i, (w, g) in enumerate(zip(want, got)):
            ok, msg = compare(w, g, args.rel)
            print(f"{name} ({ops} nodes, {' '.join(options) or 'defaults'}, {ort_line}): output {i}: {msg}"
                  f"{'' if ok else ' MISMATCH'}", flush=True)
            failed |= not ok
    if failed:
        fail("exported models disagree with dlc or fail the checker (see above)")
    print(f"all {len(cases)} exported models pass the checker and match dlc on ONNX Runtime")


if __name__ == "__main__":
    main()
