#!/usr/bin/python3
"""`dlc prune --method channel`, checked against independent results:

- exactness of the surgery: the original model with the consumers' weights of every removed
  channel set to zero here (NumPy on the ONNX initializers, from the report's kept channels) gives
  the pruned model's outputs, on a CNN with every kind of dependency (BatchNorm, a residual sum, a
  depthwise Conv, squeeze-excitation, SiLU, a Flatten into a Linear layer), an Inception-style
  Concat of two branches and the input, and on torchvision's mobilenet_v2 (inverted residuals) and
  resnet18;
- ONNX Runtime 1.30 (--ort-cache) runs the pruned .onnx with dlc's outputs;
- FLOPs: counted here from the pruned file's shapes (onnx shape inference), they equal the report's,
  and --target-flops 0.5 leaves at most half;
- the analysis keeps whole what it must (graph outputs, a Concat along a spatial axis, a Reshape
  to a fixed shape, Transpose), written as textual IR, with the reason in the report;
- bad input: one-line errors, a non-zero exit, no output file.

usage: channel_test.py --dlc DLC --work DIR [--ort-cache DIR] [--model-dir DIR (resnet50's export: only its checks)]
"""
import argparse
import json
import os
import re
import sys

import numpy as np

try:
    import onnx
    import onnx.numpy_helper
    import onnx.shape_inference
    import torch
    import torch.nn as nn
    import torchvision
except ImportError as e:
    sys.exit(f"channel_test.py: error: {e} (run with /usr/bin/python3)")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "common"))
from dlc_checks import check, dlc_outputs, dlc_tool, finish, run  # noqa: E402
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "models"))


class Net(nn.Module):
    """Every dependency the analysis follows, on a 1x28x28 input."""

    def __init__(self):
        super().__init__()
        bn = nn.BatchNorm2d
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), bn(16), nn.ReLU())
        self.res = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), bn(32), nn.ReLU(), nn.Conv2d(32, 16, 3, padding=1), bn(16))
        self.dw = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, stride=2, groups=16), bn(16), nn.ReLU())
        self.pw = nn.Sequential(nn.Conv2d(16, 32, 1), bn(32))
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(32, 8, 1), nn.ReLU(), nn.Conv2d(8, 32, 1), nn.Sigmoid())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32 * 4, 10))

    def forward(self, x):
        x = self.stem(x)
        x = torch.relu(x + self.res(x))
        x = self.pw(self.dw(x))
        x = x * self.se(x)
        x = x * torch.sigmoid(x)  # SiLU as the exporter writes it
        return self.head(x)


class Branches(nn.Module):
    """Inception-style: two conv branches and the input itself concatenated along the channels."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(1, 8, 1), nn.Conv2d(1, 12, 3, padding=1)
        self.norm, self.c = nn.BatchNorm2d(21), nn.Conv2d(21, 16, 3, padding=1)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))

    def forward(self, x):
        cat = torch.cat([torch.relu(self.a(x)), torch.relu(self.b(x)), x], 1)
        return self.head(torch.relu(self.c(torch.relu(self.norm(cat)))))


class Splits(nn.Module):
    """Split along the channels: a conv's output in two unequal parts with their own branches
    (a conv, a depthwise conv) concatenated again, and a gated linear unit (split into halves,
    one gating the other) before the classifier."""

    def __init__(self):
        super().__init__()
        self.stem, self.norm = nn.Conv2d(1, 24, 3, padding=1), nn.BatchNorm2d(24)
        self.a, self.b = nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.mix = nn.Conv2d(24, 16, 1)
        self.glu, self.head = nn.Linear(16, 64), nn.Linear(32, 10)

    def forward(self, x):
        a, b = torch.split(torch.relu(self.norm(self.stem(x))), [8, 16], dim=1)
        y = torch.relu(self.mix(torch.cat([torch.relu(self.a(a)), torch.relu(self.b(b))], 1)))
        u, v = torch.split(self.glu(y.mean((2, 3))), [32, 32], dim=-1)
        return self.head(u * torch.sigmoid(v))


class Chunks(nn.Module):
    """Slices along the channels as torch exports them with a symbolic batch: `chunk` (Slices whose
    bounds come from the channel count, folded to constants) into two branches summed, and
    `z[:, 4:12, 1:]` (one Slice of two axes), which leaves channels no Slice takes."""

    def __init__(self):
        super().__init__()
        self.stem, self.norm = nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.a, self.b = nn.Conv2d(8, 16, 3, padding=1), nn.Conv2d(8, 16, 1)
        self.c = nn.Conv2d(8, 12, 3, padding=1)
        self.head = nn.Linear(12, 10)

    def forward(self, x):
        a, b = torch.relu(self.norm(self.stem(x))).chunk(2, dim=1)
        z = torch.relu(self.a(a) + self.b(b))
        return self.head(torch.relu(self.c(z[:, 4:12, 1:])).mean((2, 3)))


class Attention(nn.Module):
    """A transformer block's attention as Hugging Face writes it (separate Q, K, V; view into
    heads; a mask added to the scores) or fused (one QKV projection split into [3, heads, dim]
    as the project's BERT does), with a residual LayerNorm and a Linear head."""

    def __init__(self, fused, dim=32, heads=4):
        super().__init__()
        self.fused, self.heads, self.d = fused, heads, dim // heads
        if fused:
            self.qkv = nn.Linear(dim, 3 * dim)
        else:
            self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.out, self.norm, self.head = nn.Linear(dim, dim), nn.LayerNorm(dim), nn.Linear(dim, 5)

    def forward(self, x):
        n, s, e = x.shape
        if self.fused:
            q, k, v = self.qkv(x).reshape(n, s, 3, self.heads, self.d).permute(2, 0, 3, 1, 4)
        else:
            q, k, v = (f(x).view(n, s, self.heads, self.d).transpose(1, 2) for f in (self.q, self.k, self.v))
        mask = torch.zeros(1, 1, 1, s).masked_fill(torch.arange(s) >= s - 1, -1e4)
        p = torch.softmax(q @ k.transpose(-1, -2) / self.d ** 0.5 + mask, dim=-1)
        y = (p @ v).transpose(1, 2).reshape(n, s, e)
        return self.head(self.norm(x + self.out(y)))


def randomize_norms(model):
    """BatchNorm statistics and affines away from the identity, so that pruning shows."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.25)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.2)


def export(model, example, path):
    torch.onnx.export(model, (example,), path, input_names=["x"], output_names=["y"], opset_version=17,
                      dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})


def zero_removed(model_path, report, out_path):
    """The original model with every consumer's weights of removed channels set to zero."""
    m = onnx.load(model_path)
    inits = {i.name: i for i in m.graph.initializer}
    nodes = {n.name: n for n in m.graph.node}
    for g in report["groups"]:
        if g["kept"] == g["channels"]:
            continue
        removed = sorted(set(range(g["channels"])) - set(g["kept_channels"]))
        for name in g["consumers"]:
            node = nodes[name]
            w = onnx.numpy_helper.to_array(inits[node.input[1]]).copy()
            if node.op_type == "Conv":
                axis = 1
            elif node.op_type == "Gemm":
                trans_b = any(a.name == "transB" and a.i for a in node.attribute)
                axis = 1 if trans_b else 0
            else:
                axis = 0
            block = w.shape[axis] // g["channels"]
            index = [slice(None)] * w.ndim
            for c in removed:
                index[axis] = slice(c * block, (c + 1) * block)
                w[tuple(index)] = 0
            inits[node.input[1]].CopyFrom(onnx.numpy_helper.from_array(w, node.input[1]))
    onnx.save(m, out_path)


def count_flops(path):
    """2 x multiply-adds of Conv, Gemm and MatMul at batch 1, from the file's own shapes."""
    m = onnx.shape_inference.infer_shapes(onnx.load(path))
    shapes = {v.name: [d.dim_value if d.HasField("dim_value") else 1 for d in v.type.tensor_type.shape.dim]
              for v in list(m.graph.value_info) + list(m.graph.output) + list(m.graph.input)}
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    for n in m.graph.node:  # exporters write some weights as Transpose(initializer)
        if n.op_type == "Transpose" and n.input[0] in inits:
            perm = [a.ints for a in n.attribute if a.name == "perm"]
            inits[n.output[0]] = inits[n.input[0]].transpose(*(list(perm[0]) if perm else []))
    total = 0.0
    for n in m.graph.node:
        if n.op_type not in ("Conv", "Gemm", "MatMul") or n.input[1] not in inits:
            continue
        w = inits[n.input[1]]
        out = shapes[n.output[0]]
        if n.op_type == "Conv":
            total += 2.0 * w.size * float(np.prod(out[2:]))
        else:
            total += 2.0 * w.size * float(np.prod(out[1:-1])) if len(out) > 2 else 2.0 * w.size
    return total


def check_model(a, ort_dir, tag, model_path, x, options, expect_pruned_groups=1):
    out = os.path.join(a.work, f"{tag}_pruned.onnx")
    report_path = os.path.join(a.work, f"{tag}_report.json")
    p = dlc_tool(a.dlc, "prune", model_path, out, "--method", "channel", "--report", report_path, *options)
    print(p.stderr.strip())
    rep = json.load(open(report_path))
    pruned = [g for g in rep["groups"] if g["kept"] < g["channels"]]
    check(len(pruned) >= expect_pruned_groups, f"{tag}: {len(pruned)} of {len(rep['groups'])} channel groups pruned")
    for g in rep["groups"]:
        if g["kept"] == g["channels"] and "whole" not in g and g["channels"] > 8:
            check(False, f"{tag}: group of {g['producers']} kept whole without a reason")
    zeroed = os.path.join(a.work, f"{tag}_zeroed.onnx")
    zero_removed(model_path, rep, zeroed)
    want = dlc_outputs(a.dlc, zeroed, x, os.path.join(a.work, f"{tag}_zeroed"), "--target", "onednn")
    got = dlc_outputs(a.dlc, out, x, os.path.join(a.work, f"{tag}_pruned"), "--target", "onednn")
    scale = float(np.abs(want).max())
    err = float(np.abs(got - want).max()) / scale
    check(err < 1e-4, f"{tag}: the pruned model equals the original with the removed channels' consumer weights zeroed "
                      f"({err:.2g} of max|y|)")
    dense = dlc_outputs(a.dlc, model_path, x, os.path.join(a.work, f"{tag}_dense"), "--target", "onednn")
    check(float(np.abs(dense - got).max()) > 1e-3 * scale, f"{tag}: and differs from the unpruned model (channels were removed)")
    ref = dlc_outputs(a.dlc, out, x, os.path.join(a.work, f"{tag}_pruned_ref"), "--target", "reference")
    check(float(np.abs(ref - got).max()) / scale < 1e-4, f"{tag}: the pruned model on reference equals onednn")
    flops = count_flops(out)
    check(abs(flops - rep["flops_after"]) <= 1e-6 * rep["flops_after"],
          f"{tag}: FLOPs counted from the pruned file ({flops:.4g}) equal the report's ({rep['flops_after']:.4g})")
    # The original's shapes as dlc's exporter writes them (shape inference alone loses them after a
    # data-dependent Reshape, as in BERT's attention).
    exported = os.path.join(a.work, f"{tag}_exported.onnx")
    dlc_tool(a.dlc, "export", model_path, exported)
    check(abs(count_flops(exported) - rep["flops_before"]) <= 1e-6 * rep["flops_before"], f"{tag}: and the original's")
    check(os.path.getsize(out) < os.path.getsize(model_path), f"{tag}: the pruned .onnx is smaller "
                                                              f"({os.path.getsize(out)} < {os.path.getsize(model_path)} bytes)")
    if ort_dir:
        import check_export_ort
        outs, _ = check_export_ort.run_ort(ort_dir, out, [x], os.path.join(a.work, f"ort_{tag}"))
        e = float(np.abs(outs[0] - got).max()) / scale
        check(e < 1e-4, f"{tag}: ONNX Runtime on the pruned model agrees with dlc ({e:.2g} of max|y|)")
    return rep


IR_CASES = {
    # The Conv's channels reach the graph output: whole.
    "output": ("reaches a graph output", """graph @main opsets {"" = 17} (%x: f32[1,4,6,6]) {
  %w = Constant() {value = tensor<f32[16,4,1,1]> 0xHEX0} : f32[16,4,1,1]
  %y = Conv(%x, %w) loc("conv") : f32[1,16,6,6]
  return %y
}"""),
    # Concat along a spatial axis (channels are followed through a Concat along axis 1 only): whole.
    "concat": ("read by Concat", """graph @main opsets {"" = 17} (%x: f32[1,4,6,6]) {
  %w = Constant() {value = tensor<f32[16,4,1,1]> 0xHEX1} : f32[16,4,1,1]
  %a = Conv(%x, %w) loc("conv") : f32[1,16,6,6]
  %c = Concat(%a, %a) {axis = 2} : f32[1,16,12,6]
  %w2 = Constant() {value = tensor<f32[16,16,1,1]> 0xHEX2} : f32[16,16,1,1]
  %y = Conv(%c, %w2) loc("conv2") : f32[1,16,12,6]
  return %y
}"""),
    # A Reshape that mixes the channels with the spatial dims ([16, 2, 2] into [8, 8]): whole.
    "reshape": ("read by Reshape", """graph @main opsets {"" = 17} (%x: f32[1,4,2,2]) {
  %w = Constant() {value = tensor<f32[16,4,1,1]> 0xHEX3} : f32[16,4,1,1]
  %a = Conv(%x, %w) loc("conv") : f32[1,16,2,2]
  %s = Constant() {value = tensor<i64[3]> 0x010000000000000008000000000000000800000000000000} : i64[3]
  %f = Reshape(%a, %s) : f32[1,8,8]
  %w2 = Constant() {value = tensor<f32[8,3]> 0xHEX4} : f32[8,3]
  %y = MatMul(%f, %w2) loc("fc") : f32[1,8,3]
  return %y
}"""),
    # Transpose moves the channels last, where a Softmax normalizes over them: whole.
    "transpose": ("read by Softmax", """graph @main opsets {"" = 17} (%x: f32[1,4,6,6]) {
  %w = Constant() {value = tensor<f32[16,4,1,1]> 0xHEX5} : f32[16,4,1,1]
  %a = Conv(%x, %w) loc("conv") : f32[1,16,6,6]
  %t = Transpose(%a) {perm = [0, 2, 3, 1]} : f32[1,6,6,16]
  %p = Softmax(%t) {axis = -1} : f32[1,6,6,16]
  %w2 = Constant() {value = tensor<f32[16,3]> 0xHEX6} : f32[16,3]
  %y = MatMul(%p, %w2) loc("fc") : f32[1,6,6,3]
  return %y
}"""),
    # Heads whose reshape takes its head count from the input's shape at run time: whole.
    "heads": ("not a constant", """graph @main opsets {"" = 17} (%x: f32[2,5,8], %h: i64[1]) {
  %w = Constant() {value = tensor<f32[8,8]> 0xHEX7} : f32[8,8]
  %q = MatMul(%x, %w) loc("q") : f32[2,5,8]
  %n = Constant() {value = tensor<i64[2]> 0x02000000000000000500000000000000} : i64[2]
  %d = Constant() {value = tensor<i64[1]> 0x0200000000000000} : i64[1]
  %s = Concat(%n, %h, %d) {axis = 0} : i64[4]
  %r = Reshape(%q, %s) : f32[2,5,4,2]
  %t = Transpose(%r) {perm = [0, 2, 1, 3]} : f32[2,4,5,2]
  %m = Transpose(%t) {perm = [0, 2, 1, 3]} : f32[2,5,4,2]
  %o = Constant() {value = tensor<i64[3]> 0x020000000000000005000000000000000800000000000000} : i64[3]
  %f = Reshape(%m, %o) : f32[2,5,8]
  %w2 = Constant() {value = tensor<f32[8,3]> 0xHEX8} : f32[8,3]
  %y = MatMul(%f, %w2) loc("fc") : f32[2,5,3]
  return %y
}"""),
    # Two Slices of the channels that overlap ([0, 10) and [6, 16)): whole.
    "overlap": ("overlap", """graph @main opsets {"" = 17} (%x: f32[1,4,6,6]) {
  %w = Constant() {value = tensor<f32[16,4,1,1]> 0xHEX9} : f32[16,4,1,1]
  %a = Conv(%x, %w) loc("conv") : f32[1,16,6,6]
  %s0 = Constant() {value = tensor<i64[1]> 0x0000000000000000} : i64[1]
  %e0 = Constant() {value = tensor<i64[1]> 0x0a00000000000000} : i64[1]
  %s1 = Constant() {value = tensor<i64[1]> 0x0600000000000000} : i64[1]
  %e1 = Constant() {value = tensor<i64[1]> 0x1000000000000000} : i64[1]
  %ax = Constant() {value = tensor<i64[1]> 0x0100000000000000} : i64[1]
  %p = Slice(%a, %s0, %e0, %ax) : f32[1,10,6,6]
  %q = Slice(%a, %s1, %e1, %ax) : f32[1,10,6,6]
  %y = Add(%p, %q) : f32[1,10,6,6]
  %w2 = Constant() {value = tensor<f32[8,10,1,1]> 0xHEX10} : f32[8,10,1,1]
  %z = Conv(%y, %w2) loc("conv2") : f32[1,8,6,6]
  return %z
}"""),
}


def hex_floats(n, seed):
    return np.random.default_rng(seed).standard_normal(n).astype("<f4").tobytes().hex()


def check_must_not_prune(a):
    sizes = {"output": [64], "concat": [64, 256], "reshape": [64, 24], "transpose": [64, 48], "heads": [64, 24], "overlap": [64, 80]}
    for name, (reason, text) in IR_CASES.items():
        path = os.path.join(a.work, f"ir_{name}.dlcir")
        with open(path, "w") as f:
            blobs = iter([hex_floats(n, i) for i, n in enumerate(sizes[name])])
            f.write(re.sub(r"HEX\d+", lambda _: next(blobs), text))
        out = os.path.join(a.work, f"ir_{name}.onnx")
        p = run([a.dlc, "prune", path, "-o", out, "--method", "channel", "--min-channels", "1"])
        lines = p.stderr.strip().splitlines()
        ok = p.returncode != 0 and len(lines) == 1 and "nothing to prune" in lines[0] and reason in lines[0] and not os.path.exists(out)
        check(ok, f"textual IR '{name}': the conv's group stays whole ({lines[-1] if lines else '(no message)'})")


def check_bad_input(a, model):
    out = os.path.join(a.work, "bad.onnx")
    cases = [
        (["--sparsity", "1"], "outside [0, 1)"),
        (["--sparsity", "0.5", "--target-flops", "0.5"], "not both"),
        (["--target-flops", "0"], "(0, 1]"),
        (["--target-flops", "0.0001"], "out of reach"),
        (["--criterion", "taylor"], "give --calibrate"),
        (["--criterion", "l3"], "is not l1, l2, bn-gamma or taylor"),
        (["--min-channels", "0"], "--min-channels"),
        (["--exclude", "nope"], "no Conv, Gemm or MatMul node has that name"),
        (["--pattern", "2:4"], "applies to --method magnitude or n:m"),
    ]
    for args, expect in cases:
        p = run([a.dlc, "prune", model, "-o", out, "--method", "channel", *args])
        lines = p.stderr.strip().splitlines()
        ok = p.returncode != 0 and len(lines) == 1 and lines[0].startswith("dlc: error:") and expect in lines[0]
        check(ok and not os.path.exists(out) and not os.path.exists(out + ".tmp"),
              f"bad input {' '.join(args)}: {lines[-1] if lines else '(no message)'}")
    p = run([a.dlc, "prune", model, "-o", out, "--method", "magnitude", "--min-channels", "4"])
    check(p.returncode != 0 and "applies to --method channel" in p.stderr, f"--min-channels with magnitude: {p.stderr.strip()}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--ort-cache")
    ap.add_argument("--model-dir", help="only the surgery checks, on this exported model (model.onnx, input_0.npy)")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    ort_dir = None
    if a.ort_cache:
        import check_export_ort
        ort_dir = check_export_ort.install_ort(a.ort_cache)
    if a.model_dir:
        name = os.path.basename(os.path.normpath(a.model_dir))
        xi = np.load(os.path.join(a.model_dir, "input_0.npy"))
        rep = check_model(a, ort_dir, name, os.path.join(a.model_dir, "model.onnx"), xi, ["--target-flops", "0.5"],
                          expect_pruned_groups=5)
        print(f"{name}: FLOPs {rep['flops_after'] / rep['flops_before']:.3f} of the original")
        heads = [g for g in rep["groups"] if any("qkv" in q for q in g["producers"])]
        if heads:  # BERT: each layer's attention heads are a group of 12, pruned whole
            check(all(g["channels"] == 12 and g["kept"] < 12 for g in heads),
                  f"{name}: every layer's heads are one group of 12 and lose whole heads: {[(g['channels'], g['kept']) for g in heads]}")
        return finish()

    torch.manual_seed(0)
    net = Net().eval()
    randomize_norms(net)
    net_onnx = os.path.join(a.work, "net.onnx")
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    export(net, torch.from_numpy(x), net_onnx)
    with torch.no_grad():
        torch_y = net(torch.from_numpy(x)).numpy()
    dense = dlc_outputs(a.dlc, net_onnx, x, os.path.join(a.work, "net_dense"), "--target", "onednn")
    check(float(np.abs(dense - torch_y).max()) < 1e-4 * float(np.abs(torch_y).max()), "the dense CNN runs as PyTorch does")

    rep = check_model(a, ort_dir, "net", net_onnx, x, ["--sparsity", "0.5", "--min-channels", "4"], expect_pruned_groups=4)
    by_producer = {tuple(sorted(g["producers"])): g for g in rep["groups"]}
    stream = [g for g in rep["groups"] if len(g["producers"]) == 2 and g["channels"] == 16]
    check(len(stream) == 1 and stream[0]["kept"] == 8,
          f"the residual stream (stem and the block's last conv, through the depthwise conv) is one group of 16 -> 8: "
          f"{[(g['producers'], g['kept']) for g in stream]}")
    se = [g for g in rep["groups"] if g["channels"] == 32 and len(g["producers"]) == 2]
    check(len(se) == 1 and len(se[0]["consumers"]) == 2,
          f"the pointwise conv and the squeeze-excitation's expanding conv share a group read by the SE and the Linear layer: "
          f"{[(g['producers'], g['consumers']) for g in se]}")
    head = [g for g in rep["groups"] if g["channels"] == 10]
    check(len(head) == 1 and head[0]["kept"] == 10 and "graph output" in head[0].get("whole", ""),
          f"the classifier's outputs stay whole: {head}")
    del by_producer

    # Concat: the branches' kept channels at their offsets, the input's channel kept.
    torch.manual_seed(0)
    branches = Branches().eval()
    randomize_norms(branches)
    branches_onnx = os.path.join(a.work, "branches.onnx")
    export(branches, torch.from_numpy(x), branches_onnx)
    rep = check_model(a, ort_dir, "concat", branches_onnx, x, ["--sparsity", "0.5", "--min-channels", "2"], expect_pruned_groups=3)
    cat = [g for g in rep["groups"] if g["channels"] == 21]
    check(len(cat) == 1 and cat[0]["kept"] == 4 + 6 + 1 and 20 in cat[0]["kept_channels"],
          f"the Concat's group keeps 4 + 6 of the branches' channels and the input's: {[(g['kept'], g['kept_channels']) for g in cat]}")

    # bn-gamma and l2 rank differently but the surgery is as exact.
    check_model(a, ort_dir, "net_gamma", net_onnx, x, ["--sparsity", "0.25", "--criterion", "bn-gamma", "--min-channels", "4"])
    check_model(a, ort_dir, "net_l2", net_onnx, x, ["--sparsity", "0.25", "--criterion", "l2", "--min-channels", "4"])
    rep = check_model(a, ort_dir, "net_flops", net_onnx, x, ["--target-flops", "0.5", "--min-channels", "2"])
    ratio = rep["flops_after"] / rep["flops_before"]
    check(0.4 <= ratio <= 0.5, f"--target-flops 0.5: {ratio:.3f} of the FLOPs left")

    # Split along the channels: each part prunes on its own, the Split's sizes follow.
    torch.manual_seed(0)
    splits = Splits().eval()
    randomize_norms(splits)
    splits_onnx = os.path.join(a.work, "splits.onnx")
    export(splits, torch.from_numpy(x), splits_onnx)
    rep = check_model(a, ort_dir, "splits", splits_onnx, x, ["--sparsity", "0.5", "--min-channels", "2"], expect_pruned_groups=4)
    parts = sorted((g["channels"], g["kept"]) for g in rep["groups"] if not g["producers"] and g["channels"] in (8, 16, 32))
    stem = [g for g in rep["groups"] if any("stem" in q for q in g["producers"])]
    check(stem and stem[0]["kept"] == 4 + 8 and (8, 4) in parts and (16, 8) in parts and (32, 16) in parts,
          f"the split conv keeps 4 + 8 of its 8 + 16 channels, the gated halves share 16 of 32: stem {[(g['channels'], g['kept']) for g in stem]}, "
          f"parts {parts}")

    # Slices along the channels (torch's chunk, x[:, a:b]): each is a part, its bounds follow.
    torch.manual_seed(0)
    chunks = Chunks().eval()
    randomize_norms(chunks)
    chunks_onnx = os.path.join(a.work, "chunks.onnx")
    export(chunks, torch.from_numpy(x), chunks_onnx)
    rep = check_model(a, ort_dir, "chunks", chunks_onnx, x, ["--sparsity", "0.5", "--min-channels", "2"], expect_pruned_groups=4)
    by_producer = {tuple(sorted(g["producers"])): (g["channels"], g["kept"]) for g in rep["groups"]}
    stem = [v for k, v in by_producer.items() if any("stem" in q for q in k)]
    summed = [v for k, v in by_producer.items() if len(k) == 2]
    check(stem == [(16, 8)] and summed == [(16, 4 + 4 + 4)],
          f"chunk's halves keep 4 of 8 each (stem 8 of 16); the summed convs keep the 8 channels z[:, 4:12, 1:] takes at half "
          f"and the 8 it leaves whole: stem {stem}, summed {summed}")

    # One Slice of the channels and a spatial axis together (starts [2, 1], ends [10, big]).
    h = onnx.helper
    rng = np.random.default_rng(3)
    init = [onnx.numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)
            for name, shape in (("w1", (16, 1, 3, 3)), ("w2", (6, 8, 3, 3)))]
    init += [onnx.numpy_helper.from_array(np.array(v, np.int64), name)
             for name, v in (("starts", [2, 1]), ("ends", [10, 2**62]), ("axes", [1, 2]))]
    graph = h.make_graph([h.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
                          h.make_node("Relu", ["c1"], ["r1"]),
                          h.make_node("Slice", ["r1", "starts", "ends", "axes"], ["s"], name="slice"),
                          h.make_node("Conv", ["s", "w2"], ["y"], name="conv2")], "sliced",
                         [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 1, 28, 28])],
                         [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 6, 25, 26])], init)
    sliced_onnx = os.path.join(a.work, "slice2.onnx")
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]), sliced_onnx)
    rep = check_model(a, ort_dir, "slice2", sliced_onnx, x, ["--sparsity", "0.5", "--min-channels", "2"], expect_pruned_groups=2)
    conv1 = [(g["channels"], g["kept"]) for g in rep["groups"] if g["producers"] == ["conv1"]]
    check(conv1 == [(16, 12)], f"a Slice of channels [2, 10) and rows: conv1 keeps 2 + 4 + 6 of 16: {conv1}")

    # Attention heads: Q, K, V and the output projection lose whole heads together.
    for fused in (False, True):
        torch.manual_seed(0)
        tag = "attention_fused" if fused else "attention"
        path = os.path.join(a.work, f"{tag}.onnx")
        xa = np.random.default_rng(2).standard_normal((2, 6, 32)).astype(np.float32)
        torch.onnx.export(Attention(fused).eval(), (torch.from_numpy(xa),), path, input_names=["x"], output_names=["y"],
                          opset_version=17, dynamic_axes={"x": {0: "N", 1: "S"}, "y": {0: "N", 1: "S"}})
        rep = check_model(a, ort_dir, tag, path, xa, ["--sparsity", "0.5", "--min-channels", "1"])
        heads = [g for g in rep["groups"] if g["channels"] == 4]
        check(len(heads) == 1 and heads[0]["kept"] == 2 and len(heads[0]["producers"]) == (1 if fused else 3),
              f"{tag}: the heads are one group of 4 ({'the QKV projection' if fused else 'Q, K and V'}), 2 kept: "
              f"{[(g['producers'], g['kept']) for g in heads]}")

    # torchvision's mobilenet_v2 (inverted residuals, depthwise convs) and resnet18.
    for name, make in (("mobilenet_v2", torchvision.models.mobilenet_v2), ("resnet18", torchvision.models.resnet18)):
        torch.manual_seed(0)
        model = make().eval()
        randomize_norms(model)
        path = os.path.join(a.work, f"{name}.onnx")
        xi = np.random.default_rng(1).standard_normal((1, 3, 96, 96)).astype(np.float32)
        export(model, torch.from_numpy(xi), path)
        rep = check_model(a, ort_dir, name, path, xi, ["--target-flops", "0.5"], expect_pruned_groups=5)
        print(f"{name}: {sum(1 for g in rep['groups'] if g['kept'] < g['channels'])} of {len(rep['groups'])} groups pruned, "
              f"FLOPs {rep['flops_after'] / rep['flops_before']:.3f} of the original")

    check_must_not_prune(a)
    check_bad_input(a, net_onnx)
    art = os.path.join(a.work, "net_pruned.dlc")
    dlc_tool(a.dlc, "prune", net_onnx, art, "--method", "channel", "--min-channels", "4")
    want = dlc_outputs(a.dlc, os.path.join(a.work, "net_pruned.onnx"), x, os.path.join(a.work, "net_onnx_again"), "--target", "onednn")
    got = dlc_outputs(a.dlc, art, x, os.path.join(a.work, "net_art"))
    check(float(np.abs(got - want).max()) <= 1e-4 * float(np.abs(want).max()), "the compiled pruned .dlc gives the .onnx's outputs")
    p = run([a.dlc, "prune", "--help"])
    check(p.returncode == 0 and "--target-flops" in p.stdout and "channel" in p.stdout, "dlc prune --help covers channel pruning")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
