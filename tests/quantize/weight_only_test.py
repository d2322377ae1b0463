#!/usr/bin/python3
"""`dlc quantize --mode weight-only`: int4 and int8 block-quantized MatMul/Gemm weights (ONNX Runtime's
MatMulNBits), checked against independent results:

- the codes, scales and zero points dlc wrote, decoded here with NumPy from MatMulNBits' definition
  (ONNX Runtime's contrib-op documentation), are within half a step of the float weights (the
  rounding bound), and a NumPy forward pass with those decoded weights gives dlc's outputs on the
  reference, cpu and onednn targets;
- a single layer's output is within the propagated bound sum_k |x_k| * scale(n, k) / 2 of the float
  layer's (PyTorch's);
- ONNX Runtime 1.30 runs the written .onnx (--ort-cache) with the same outputs as dlc;
- the int4 files are >= 6x smaller than the float ones (an MLP trained on Debian's
  dataset-fashion-mnist by PyTorch, and a transformer feed-forward block with 3-D MatMuls), and the
  MLP's 10,000-image test accuracy is measured in float, int4 and int8;
- bad options: one-line errors, a non-zero exit and no output file.

usage: weight_only_test.py --dlc DLC --work DIR [--ort-cache DIR]
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
    sys.exit(f"weight_only_test.py: error: {e} (run with /usr/bin/python3)")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "common"))
from dlc_checks import check, dlc_outputs, dlc_tool, finish, run  # noqa: E402
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "models"))


def quantize(dlc, model, out, *options):
    return dlc_tool(dlc, "quantize", model, out, *options)


def decode_matmul_nbits(node, values):
    """W [N, K] of a MatMulNBits node, decoded from its definition (com.microsoft.MatMulNBits), with
    the per-element scale for the rounding bound, and the bias (or None)."""
    at = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    k, n, bits, block = at["K"], at["N"], at.get("bits", 4), at["block_size"]
    blocks = -(-k // block)
    b = values[node.input[1]].reshape(n, blocks * block * bits // 8)
    if bits == 4:
        codes = np.stack([b & 0xF, b >> 4], axis=-1).reshape(n, blocks * block)
    else:
        codes = b.astype(np.int64)
    scales = values[node.input[2]].reshape(n, blocks).astype(np.float32)
    if len(node.input) > 3 and node.input[3]:
        zp = values[node.input[3]]
        if zp.dtype == np.uint8:
            zp = zp.reshape(n, -1)
            zp = (np.stack([zp & 0xF, zp >> 4], axis=-1).reshape(n, -1) if bits == 4 else zp)[:, :blocks]
        zp = zp.reshape(n, blocks).astype(np.float32)
    else:
        zp = np.full((n, blocks), 2 ** (bits - 1), np.float32)
    per_k = np.repeat(np.arange(blocks), block)[:k]
    w = (codes[:, :k].astype(np.float32) - zp[:, per_k]) * scales[:, per_k]
    bias = values[node.input[5]] if len(node.input) > 5 and node.input[5] else None
    return w, scales[:, per_k], bias, bits, block


def initializers(path):
    m = onnx.load(path)
    values = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    return m, values


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))


class FeedForward(nn.Module):
    """A transformer block's feed-forward half: 3-D MatMuls (exported as MatMul + Add)."""

    def __init__(self, d=256, hidden=1024):
        super().__init__()
        self.up, self.down, self.norm = nn.Linear(d, hidden), nn.Linear(hidden, d), nn.LayerNorm(d)

    def forward(self, x):
        return self.norm(x + self.down(nn.functional.gelu(self.up(x))))


def export(model, example, path, dynamic_batch=True):
    axes = {"x": {0: "N"}, "y": {0: "N"}} if dynamic_batch else None
    torch.onnx.export(model, (example,), path, input_names=["x"], output_names=["y"], dynamic_axes=axes, opset_version=17)


def numpy_mlp(model_path, x):
    """The MLP's forward pass in NumPy with the weights decoded from the quantized file."""
    m, values = initializers(model_path)
    h = x.reshape(len(x), -1).astype(np.float32)
    nodes = [n for n in m.graph.node if n.op_type == "MatMulNBits"]
    for i, node in enumerate(nodes):
        w, _, bias, _, _ = decode_matmul_nbits(node, values)
        h = h @ w.T + (bias if bias is not None else 0)
        if i + 1 < len(nodes):
            h = np.maximum(h, 0)
    return h


def check_bad_input(dlc, model, work):
    out = os.path.join(work, "bad.onnx")
    conv_only = os.path.join(work, "conv_only.onnx")
    export(nn.Sequential(nn.Conv2d(1, 4, 3)), torch.zeros(1, 1, 8, 8), conv_only)
    cases = [
        (["--mode", "weight-only", "--block-size", "100"], "not a power of two"),
        (["--mode", "weight-only", "--block-size", "8"], "--block-size"),
        (["--mode", "weight-only", "--dtype", "uint8"], "takes --dtype int4 or int8"),
        (["--mode", "weight-only", "--per-channel"], "a scale per block"),
        (["--mode", "weight-only", "--method", "mse"], "applies to static"),
        (["--dtype", "int4"], "add --mode weight-only"),
        (["--block-size", "64", "--mode", "dynamic"], "applies to --mode weight-only"),
    ]
    for args, expect in cases:
        for path in (out, out + ".tmp"):
            if os.path.exists(path):
                os.remove(path)
        p = run([dlc, "quantize", model, "-o", out, *args])
        lines = p.stderr.strip().splitlines()
        ok = p.returncode != 0 and len(lines) == 1 and lines[0].startswith("dlc: error:") and expect in lines[0]
        check(ok and not os.path.exists(out) and not os.path.exists(out + ".tmp"),
              f"bad input {' '.join(args)}: {lines[-1] if lines else '(no message)'}")
    p = run([dlc, "quantize", conv_only, "-o", out, "--mode", "weight-only"])
    check(p.returncode != 0 and "weight-only quantization covers MatMul and Gemm" in p.stderr and not os.path.exists(out),
          f"a model with only a Conv: {p.stderr.strip()}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--ort-cache")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(TESTS, "training", "fashion_mnist.py"), os.path.join(a.work, "data")], check=True)
    train = np.load(os.path.join(a.work, "data", "train.npz"))
    test = np.load(os.path.join(a.work, "data", "test.npz"))
    xtr, ytr, xte, yte = train["image"], train["target"], test["image"], test["target"]
    ort_dir = None
    if a.ort_cache:
        import check_export_ort
        ort_dir = check_export_ort.install_ort(a.ort_cache)

    # The MLP, trained by PyTorch for one epoch.
    torch.manual_seed(0)
    model = mlp()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(xtr), torch.from_numpy(ytr)),
                                         batch_size=128, shuffle=True, generator=torch.Generator().manual_seed(0))
    model.train()
    for xb, yb in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
    model.eval()
    float_onnx = os.path.join(a.work, "mlp.onnx")
    export(model, torch.zeros(1, 1, 28, 28), float_onnx)
    eval_path = os.path.join(a.work, "eval.npz")
    np.savez(eval_path, x=xte, target=yte)
    check_bad_input(a.dlc, float_onnx, a.work)

    x = xte[:32]
    with torch.no_grad():
        want_float = model(torch.from_numpy(x)).numpy()
    size = os.path.getsize(float_onnx)
    for dtype, ratio in (("int4", 6.0), ("int8", 3.3)):
        for sym in ([], ["--symmetric"]):
            tag = dtype + ("_sym" if sym else "")
            q = os.path.join(a.work, f"mlp_{tag}.onnx")
            report = os.path.join(a.work, f"report_{tag}.json")
            p = quantize(a.dlc, float_onnx, q, "--mode", "weight-only", "--dtype", dtype, "--eval", eval_path, "--report", report, *sym)
            print(p.stderr.strip())
            rep = json.load(open(report))
            q_size = os.path.getsize(q)
            check(q_size * ratio <= size, f"{tag}: the .onnx is {size / q_size:.2f}x smaller than the float one (>= {ratio}x)")
            check(len(rep["quantized"]) == 3 and rep["weight_bits"] == (4 if dtype == "int4" else 8) and rep["block_size"] == 128,
                  f"{tag}: 3 layers quantized, the report names bits and block size")
            m, values = initializers(q)
            nodes = [n for n in m.graph.node if n.op_type == "MatMulNBits"]
            check(len(nodes) == 3 and not [n for n in m.graph.node if n.op_type in ("Gemm", "MatMul")],
                  f"{tag}: the 3 Gemm layers became MatMulNBits")
            check(all((len(n.input) > 3 and n.input[3] != "") != bool(sym) for n in nodes),
                  f"{tag}: zero points {'absent (symmetric)' if sym else 'stored'}")
            # The rounding bound on every weight.
            f_model, f_values = initializers(float_onnx)
            gemms = [n for n in f_model.graph.node if n.op_type == "Gemm"]
            worst = 0.0
            for node, gemm in zip(nodes, gemms):
                w, step, _, _, _ = decode_matmul_nbits(node, values)
                wf = f_values[gemm.input[1]]  # Gemm transB=1: [N, K]
                worst = max(worst, float((np.abs(w - wf) / (step * 0.5 * (1 + 1e-5) + 1e-30)).max()))
            check(worst <= 1.0, f"{tag}: every weight within half a step of the float one ({worst:.3f} of the bound)")
            # dlc on each target against NumPy with the decoded weights.
            want = numpy_mlp(q, x)
            scale = float(np.abs(want).max())
            for target in ("reference", "cpu", "onednn"):
                got = dlc_outputs(a.dlc, q, x, os.path.join(a.work, f"{tag}_{target}"), "--target", target)
                err = float(np.abs(got - want).max()) / scale
                check(err < 1e-5, f"{tag} on --target {target} vs NumPy on the decoded weights: {err:.2g} of max|y|")
            art = os.path.join(a.work, f"mlp_{tag}.dlc")
            quantize(a.dlc, float_onnx, art, "--mode", "weight-only", "--dtype", dtype, "--target", "cpu", *sym)
            got = dlc_outputs(a.dlc, art, x, os.path.join(a.work, f"{tag}_dlc"))
            check(float(np.abs(got - want).max()) / scale < 1e-5, f"{tag}: the compiled .dlc (cpu) gives the same outputs")
            check(os.path.getsize(art) * ratio * 0.9 <= size, f"{tag}: the .dlc is {size / os.path.getsize(art):.2f}x smaller")
            rel = float(np.abs(want - want_float).max() / np.abs(want_float).max())
            drop = rep["accuracy_float"] - rep["accuracy_quantized"]
            print(f"{tag}: test accuracy {rep['accuracy_quantized']:.2f}% (float {rep['accuracy_float']:.2f}%), logits within "
                  f"{rel:.3f} of max|y|, {size} -> {q_size} bytes")
            check(drop <= (1.0 if dtype == "int4" else 0.2), f"{tag}: loses {drop:.2f} points of test accuracy")
            if ort_dir:
                outs, _ = check_export_ort.run_ort(ort_dir, q, [x], os.path.join(a.work, f"ort_{tag}"))
                err = float(np.abs(outs[0] - got).max()) / scale
                check(err < 1e-5, f"{tag}: ONNX Runtime on the MatMulNBits model agrees with dlc ({err:.2g} of max|y|)")

    # One layer: the output error against PyTorch's float layer within the propagated rounding bound.
    torch.manual_seed(2)
    layer = nn.Linear(300, 70).eval()
    layer_onnx = os.path.join(a.work, "layer.onnx")
    export(layer, torch.zeros(1, 300), layer_onnx)
    xl = np.random.default_rng(0).standard_normal((8, 300)).astype(np.float32)
    with torch.no_grad():
        yl = layer(torch.from_numpy(xl)).numpy()
    for block in ("32", "128"):
        q = os.path.join(a.work, f"layer_{block}.onnx")
        quantize(a.dlc, layer_onnx, q, "--mode", "weight-only", "--block-size", block)
        m, values = initializers(q)
        _, step, _, _, _ = decode_matmul_nbits([n for n in m.graph.node if n.op_type == "MatMulNBits"][0], values)
        bound = np.abs(xl) @ (step.T * 0.5) + 1e-4 * np.abs(yl).max()
        got = dlc_outputs(a.dlc, q, xl, os.path.join(a.work, f"layer_{block}"), "--target", "cpu")
        worst = float((np.abs(got - yl) / bound).max())
        check(worst <= 1.0, f"one layer, blocks of {block} (K = 300, the last block padded): output within the int4 rounding "
                            f"bound ({worst:.3f} of it)")

    # A transformer feed-forward block on [batch, seq, 256]: MatMul with 3-D input, then bias Adds.
    torch.manual_seed(3)
    ff = FeedForward().eval()
    ff_onnx = os.path.join(a.work, "ffn.onnx")
    xf = np.random.default_rng(1).standard_normal((2, 16, 256)).astype(np.float32)
    torch.onnx.export(ff, (torch.from_numpy(xf),), ff_onnx, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "B", 1: "S"}, "y": {0: "B", 1: "S"}}, opset_version=17)
    q = os.path.join(a.work, "ffn_int4.onnx")
    quantize(a.dlc, ff_onnx, q, "--mode", "weight-only")
    ratio = os.path.getsize(ff_onnx) / os.path.getsize(q)
    check(ratio >= 6.0, f"feed-forward block: int4 .onnx {ratio:.2f}x smaller (>= 6x)")
    with torch.no_grad():
        yf = ff(torch.from_numpy(xf)).numpy()
    ref = dlc_outputs(a.dlc, q, xf, os.path.join(a.work, "ffn_ref"), "--target", "reference")
    for target in ("cpu", "onednn"):
        got = dlc_outputs(a.dlc, q, xf, os.path.join(a.work, f"ffn_{target}"), "--target", target)
        err = float(np.abs(got - ref).max() / np.abs(ref).max())
        check(err < 1e-5, f"feed-forward block int4 on --target {target} vs reference: {err:.2g} of max|y|")
    rel = float(np.abs(ref - yf).max() / np.abs(yf).max())
    check(rel < 0.1, f"feed-forward block int4 within {rel:.3f} of max|y| of PyTorch's float block")
    if ort_dir:
        outs, _ = check_export_ort.run_ort(ort_dir, q, [xf], os.path.join(a.work, "ort_ffn"))
        err = float(np.abs(outs[0] - ref).max() / np.abs(ref).max())
        check(err < 1e-5, f"feed-forward block: ONNX Runtime agrees with dlc ({err:.2g} of max|y|)")
    p = run([a.dlc, "quantize", "--help"])
    check(p.returncode == 0 and "--block-size" in p.stdout and "weight-only" in p.stdout, "dlc quantize --help covers weight-only")

    return finish()


if __name__ == "__main__":
    sys.exit(main())
