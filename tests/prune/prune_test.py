#!/usr/bin/python3
"""`dlc prune --method magnitude|n:m`, checked against independent computations:

- the pruned weights, read back from the written ONNX with NumPy, against the original weights:
  per layer (or globally) exactly floor(sparsity x count) zeros, and they are the smallest |w|
  (every kept |w| >= every pruned one); for 2:4, every group of 4 along the layer's reduction axis
  (a Conv's input channels x kernel, a Linear's K, an LSTM's input/hidden size) keeps exactly its
  2 largest |w|;
- ONNX Runtime 1.30 runs the pruned model with dlc's outputs (reference and onednn targets, and
  the compiled .dlc);
- the report's counts equal NumPy's;
- a residual CNN pruned 90% per layer compiles for --target cpu with its convolutions (3x3, strided
  3x3, 1x1 stride 2, pointwise) on the sparse kernels, and for onednn (where they stay oneDNN's),
  and gives the reference's outputs (and ONNX Runtime's);
- bad input: one-line errors, a non-zero exit and no output file.

usage: prune_test.py --dlc DLC --work DIR [--ort-cache DIR]
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

try:
    import onnx
    import onnx.numpy_helper
    import torch
    import torch.nn as nn
except ImportError as e:
    sys.exit(f"prune_test.py: error: {e} (run with /usr/bin/python3)")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "common"))
from dlc_checks import check, dlc_outputs, dlc_tool, finish, run  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "models"))


def prune(dlc, model, out, *options):
    return dlc_tool(dlc, "prune", model, out, *options)


def weights(path):
    """{(op type, ordinal among that type): (node, {input index: array})} of the prunable ops'
    constant weights (initializers or Constant nodes)."""
    m = onnx.load(path)
    values = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            values[n.output[0]] = onnx.numpy_helper.to_array(n.attribute[0].t)
    out, count = {}, {}
    for n in m.graph.node:
        if n.op_type not in ("Conv", "Gemm", "MatMul", "LSTM"):
            continue
        ws = {k: values[name] for k, name in enumerate(n.input) if k in (1, 2) and name in values and values[name].ndim >= 2}
        if n.op_type == "Conv":
            ws = {k: w for k, w in ws.items() if k == 1}
        out[(n.op_type, count.get(n.op_type, 0))] = (n, ws)
        count[n.op_type] = count.get(n.op_type, 0) + 1
    return out


def reduction_rows(op_type, node, w, k):
    """w as [rows, reduction]: the axis n:m groups run along."""
    if op_type == "Conv":
        return w.reshape(w.shape[0], -1)
    if op_type == "Gemm":
        trans_b = any(a.name == "transB" and a.i for a in node.attribute)
        return w if trans_b else w.T
    if op_type == "MatMul":
        return w.T
    return w.reshape(-1, w.shape[-1])  # LSTM W [D, 4H, I] / R [D, 4H, H]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(4, 16, 3, padding=1), nn.Conv2d(16, 32, 3, padding=1, groups=2)
        self.lstm = nn.LSTM(32, 24, batch_first=True)
        self.fc = nn.Linear(24, 8)

    def forward(self, x):
        y = torch.relu(self.c2(torch.relu(self.c1(x))))  # [N, 32, 6, 6]
        seq = y.flatten(2).transpose(1, 2)              # [N, 36, 32]
        out, _ = self.lstm(seq)
        return self.fc(out[:, -1])


class ResNet(nn.Module):
    """resnet50's convolution kinds at a small size: 3x3, a residual, a strided 3x3 with its 1x1
    stride-2 shortcut, a pointwise conv."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1)
        self.a, self.b = nn.Conv2d(32, 32, 3, padding=1), nn.Conv2d(32, 32, 3, padding=1)
        self.down, self.short = nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.Conv2d(32, 64, 1, stride=2)
        self.point = nn.Conv2d(64, 128, 1)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        y = torch.relu(self.stem(x))
        y = torch.relu(self.b(torch.relu(self.a(y))) + y)
        y = torch.relu(self.down(y) + self.short(y))
        y = torch.relu(self.point(y))
        return self.fc(y.mean((2, 3)))


def check_sparse_kernels(a, ort_dir):
    torch.manual_seed(1)
    model = os.path.join(a.work, "resnet.onnx")
    torch.onnx.export(ResNet().eval(), (torch.zeros(2, 3, 24, 24),), model, input_names=["x"], output_names=["y"], opset_version=17)
    pruned = os.path.join(a.work, "resnet_90.onnx")
    prune(a.dlc, model, pruned, "--method", "magnitude", "--sparsity", "0.9")
    x = np.random.default_rng(1).standard_normal((2, 3, 24, 24)).astype(np.float32)
    ref = dlc_outputs(a.dlc, pruned, x, os.path.join(a.work, "resnet_ref"), "--target", "reference")
    scale = float(np.abs(ref).max())
    # On onednn the convolutions stay oneDNN's (handing them to the cpu target measured no faster).
    for target, said, want in (("cpu", "sparse kernel", 6), ("onednn", "the cpu target's sparse kernel", 0)):
        art = os.path.join(a.work, f"resnet_90_{target}.dlc")
        env = dict(os.environ, DLC_CPU_EXPLAIN="1", DLC_ONEDNN_EXPLAIN="1")
        p = subprocess.run([a.dlc, "compile", pruned, "-o", art, "--target", target], capture_output=True, text=True, env=env)
        check(p.returncode == 0, f"dlc compile --target {target} the pruned resnet" + ("" if p.returncode == 0 else f": {p.stderr.strip()[-300:]}"))
        # All 6 convolutions on cpu (the Linear has 2 rows: too few for the sparse kernel).
        taken = sum(said in line for line in p.stderr.splitlines() if line.startswith(target + ":"))
        check(taken == want, f"--target {target}: {taken} of the 6 pruned convolutions on the sparse kernels (want {want})")
        got = dlc_outputs(a.dlc, art, x, os.path.join(a.work, f"resnet_{target}"))
        err = float(np.abs(got - ref).max()) / scale
        check(err <= 1e-4, f"--target {target}: the pruned resnet's outputs equal the reference's ({err:.2g} of max|y|)")
    if ort_dir:
        import check_export_ort
        outs, _ = check_export_ort.run_ort(ort_dir, pruned, [x], os.path.join(a.work, "ort_resnet"))
        err = float(np.abs(outs[0] - ref).max()) / scale
        check(err < 1e-5, f"ONNX Runtime on the pruned resnet agrees with dlc ({err:.2g} of max|y|)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--ort-cache")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    torch.manual_seed(0)
    net = Net().eval()
    model = os.path.join(a.work, "net.onnx")
    torch.onnx.export(net, (torch.zeros(1, 4, 6, 6),), model, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, opset_version=17)
    x = np.random.default_rng(0).standard_normal((3, 4, 6, 6)).astype(np.float32)
    dense = weights(model)
    ort_dir = None
    if a.ort_cache:
        import check_export_ort
        ort_dir = check_export_ort.install_ort(a.ort_cache)

    for tag, options in (("layer50", ["--method", "magnitude", "--sparsity", "0.5"]),
                         ("global80", ["--method", "magnitude", "--sparsity", "0.8", "--scope", "global"]),
                         ("nm24", ["--method", "n:m", "--pattern", "2:4"])):
        out = os.path.join(a.work, f"net_{tag}.onnx")
        report = os.path.join(a.work, f"report_{tag}.json")
        p = prune(a.dlc, model, out, "--report", report, *options)
        print(p.stderr.strip())
        pruned = weights(out)
        rep = json.load(open(report))
        check(len(pruned) == len(dense) == 4, f"{tag}: 4 prunable layers (2 Conv, LSTM, Gemm)")
        all_dense, all_pruned = [], []
        for key, (node, ws) in dense.items():
            pnode, pws = pruned[key]
            for k, w in ws.items():
                pw = pws[k]
                zeros = int((pw == 0).sum())
                all_dense.append(w.ravel())
                all_pruned.append(pw.ravel())
                kept_equal = bool(np.all((pw == 0) | (pw == w)))
                if tag == "layer50":
                    want = int(np.floor(0.5 * w.size))
                    smallest = np.abs(w[pw != 0]).min() >= np.abs(w[pw == 0]).max()
                    check(zeros == want and smallest and kept_equal,
                          f"{tag}: {node.op_type} input {k}: {zeros} zeros of {w.size} (want {want}), the smallest |w|")
                if tag == "nm24":
                    rows = reduction_rows(node.op_type, node, w, k)
                    prows = reduction_rows(node.op_type, node, pw, k)
                    g, pg = rows.reshape(rows.shape[0], -1, 4), prows.reshape(prows.shape[0], -1, 4)
                    nonzero = (pg != 0).sum(-1)
                    order = np.argsort(-np.abs(g), axis=-1, kind="stable")
                    top2 = np.zeros_like(g, dtype=bool)
                    np.put_along_axis(top2, order[..., :2], True, axis=-1)
                    check(bool(np.all(nonzero == 2)) and bool(np.all((pg != 0) == top2)) and kept_equal,
                          f"{tag}: {node.op_type} input {k}: every group of 4 along the reduction keeps its 2 largest |w|")
        if tag == "global80":
            d, q = np.concatenate(all_dense), np.concatenate(all_pruned)
            want = int(np.floor(0.8 * d.size))
            zeros = int((q == 0).sum())
            check(zeros == want and np.abs(d[q != 0]).min() >= np.abs(d[q == 0]).max(),
                  f"{tag}: {zeros} of {d.size} weights zero over all layers (want {want}), the smallest |w| overall")
        check(rep["zeros"] == sum(int((p == 0).sum()) for p in all_pruned) and rep["weights"] == sum(p.size for p in all_pruned),
              f"{tag}: the report's counts ({rep['zeros']} of {rep['weights']}) are NumPy's")
        ref = dlc_outputs(a.dlc, out, x, os.path.join(a.work, f"{tag}_ref"), "--target", "reference")
        onednn = dlc_outputs(a.dlc, out, x, os.path.join(a.work, f"{tag}_onednn"), "--target", "onednn")
        scale = float(np.abs(ref).max())
        check(float(np.abs(onednn - ref).max()) <= 1e-4 * scale, f"{tag}: onednn equals the reference on the pruned model")
        art = os.path.join(a.work, f"net_{tag}.dlc")
        prune(a.dlc, model, art, *options)
        got = dlc_outputs(a.dlc, art, x, os.path.join(a.work, f"{tag}_dlc"))
        check(float(np.abs(got - ref).max()) <= 1e-4 * scale, f"{tag}: the compiled .dlc gives the same outputs")
        if tag == "global80":
            # The .dlc stores mostly-zero weights as a bitmap and the nonzero values: each pruned
            # weight of n elements with z zeros saves at least 4z - n/8 bytes, less alignment, and
            # the file gains a 16-byte encoding entry per weight tensor (at most 40 of them here).
            # Both compiled by `dlc compile`, so that only the weights differ.
            dense_art, pruned_art = os.path.join(a.work, "net_dense.dlc"), os.path.join(a.work, "net_pruned_compiled.dlc")
            for src, dst in ((model, dense_art), (out, pruned_art)):
                p = run([a.dlc, "compile", src, "-o", dst, "--target", "onednn"])
                check(p.returncode == 0, f"dlc compile {os.path.basename(src)}: {p.stderr.strip()}")
            saved = os.path.getsize(dense_art) - os.path.getsize(pruned_art)
            want = sum(4 * l["zeros"] - l["weights"] / 8 - 72 for l in rep["layers"]) - 16 * 40
            check(saved >= want, f"{tag}: the .dlc is {saved} bytes smaller than the dense one (at least {want:.0f})")
        if ort_dir:
            outs, _ = check_export_ort.run_ort(ort_dir, out, [x], os.path.join(a.work, f"ort_{tag}"))
            err = float(np.abs(outs[0] - ref).max()) / scale
            check(err < 1e-5, f"{tag}: ONNX Runtime on the pruned model agrees with dlc ({err:.2g} of max|y|)")

    check_sparse_kernels(a, ort_dir)

    # --exclude leaves a layer dense; bad input.
    out = os.path.join(a.work, "net_excl.onnx")
    report = os.path.join(a.work, "report_excl.json")
    first = json.load(open(os.path.join(a.work, "report_layer50.json")))["layers"][0]["node"]
    prune(a.dlc, model, out, "--method", "magnitude", "--exclude", first, "--report", report)
    rep = json.load(open(report))
    check(first not in [l["node"] for l in rep["layers"]] and rep["dense"][0]["node"] == first, f"--exclude {first} leaves it dense")
    conv_only = os.path.join(a.work, "relu.onnx")
    g = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["y"])], "g",
                               [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])],
                               [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])])
    onnx.save(onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", 17)]), conv_only)
    bad = os.path.join(a.work, "bad.onnx")
    cases = [
        ([model, "-o", bad, "--method", "magnitude", "--sparsity", "1"], "outside [0, 1)"),
        ([model, "-o", bad, "--method", "magnitude", "--sparsity", "-0.1"], "--sparsity"),
        ([model, "-o", bad, "--method", "magnitude", "--exclude", "nope"], "no Conv, MatMul, Gemm or RNN node"),
        ([conv_only, "-o", bad, "--method", "magnitude"], "nothing to prune"),
        ([model, "-o", bad, "--method", "n:m", "--pattern", "4:2"], "0 < N < M"),
        ([model, "-o", bad, "--method", "n:m", "--pattern", "x"], "is not N:M"),
        # This net's second conv is grouped, which channel pruning does not shrink through.
        ([model, "-o", bad, "--method", "channel"], "read by the grouped Conv"),
        ([model, "-o", bad, "--method", "magnitude", "--finetune", "t.npz"], "cannot open 't.npz'"),
        ([model, "-o", bad, "--method", "magnitude", "--lr", "0.1"], "is a fine-tuning option"),
        ([model, "-o", bad, "--method", "magnitude", "--iterative", "3"], "give --finetune TRAIN.npz"),
        ([model, "-o", bad, "--method", "magnitude", "--teacher", "t.onnx"], "--teacher is a fine-tuning option"),
        ([model, "-o", bad, "--method", "magnitude", "--calibrate", "c.npz"], "--calibrate feeds --criterion taylor"),
        ([model, "-o", bad, "--method", "magnitude", "--rewind", "1"], "--rewind applies to --iterative"),
        ([model, "-o", bad], "needs --method"),
        ([model, "-o", os.path.join(a.work, "bad.txt"), "--method", "magnitude"], "must end in .onnx or .dlc"),
    ]
    for args, expect in cases:
        for f in (bad, bad + ".tmp"):
            if os.path.exists(f):
                os.remove(f)
        p = run([a.dlc, "prune", *args])
        lines = p.stderr.strip().splitlines()
        ok = p.returncode != 0 and len(lines) == 1 and lines[0].startswith("dlc: error:") and expect in lines[0]
        check(ok and not os.path.exists(bad) and not os.path.exists(bad + ".tmp"),
              f"bad input {' '.join(os.path.basename(x) for x in args[2:])}: {lines[-1] if lines else '(no message)'}")
    p = run([a.dlc, "prune", "--help"])
    check(p.returncode == 0 and "--pattern" in p.stdout, "dlc prune --help")

    return finish()


if __name__ == "__main__":
    sys.exit(main())
