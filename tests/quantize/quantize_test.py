#!/usr/bin/python3
"""`dlc quantize` on the Fashion-MNIST CNN (two Conv+BatchNorm+ReLU+MaxPool blocks, two Linear
layers), checked against independent results:

- the oracle: the QDQ model dlc wrote, run by dlc's reference interpreter at -O0 (float ops
  between DequantizeLinear and QuantizeLinear, nothing fused), against the .dlc that dlc compiled
  from the same model with the QDQ chains lowered to QLinearConv (--target onednn) — within one
  quantization step of the logits;
- ONNX Runtime 1.30 running the QDQ .onnx (with --ort-cache) — within one step of the oracle, and
  onnx.checker accepts the file;
- the float model's accuracy as dlc measures it (--eval) equals PyTorch's on the same weights;
- --bias-correction: the per-channel mean output error (against NumPy's float layer, over the
  calibration samples) of a Gemm, a grouped Conv and a MatMul + Add falls to a quarter or less;
- a Concat of quantized branches runs on the integers, equal to the oracle within one step;
- --half-compute: fp16 (ONNX, ORT agrees) and bf16 (.dlc on oneDNN) against PyTorch's float model;
- --latency-aware reports timings and choices consistent with the model it wrote;
- ONNX Runtime's QOperator contrib ops (QLinearAdd, QLinearMul, QLinearGlobalAveragePool,
  QLinearConcat) against NumPy and ONNX Runtime, within one step;
- bad input: one-line errors, a non-zero exit and no output file.

With --train-epochs N (the `slow` test) the CNN is first trained by PyTorch on the 60,000 training
images, quantized with 500 calibration images, and the 10,000-image test accuracy is measured in
float, int8 per-tensor, int8 per-channel and accuracy-bounded (--max-accuracy-drop 0.2) modes:
per-channel must lose at most 0.5 points, the bounded mode must meet 0.2 points or say why not.

usage: quantize_test.py --dlc DLC --work DIR [--train-epochs N] [--ort-cache DIR]
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
    sys.exit(f"quantize_test.py: error: {e} (run with /usr/bin/python3)")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "common"))
from dlc_checks import check, dlc_outputs, dlc_tool, failures, run  # noqa: E402
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "training"))
sys.path.insert(0, os.path.join(TESTS, "models"))
from fashion_mnist_test import cnn, torch_accuracy  # noqa: E402


def quantize(dlc, model, out, *options):
    return dlc_tool(dlc, "quantize", model, out, *options)


def logits_step(report):
    """The quantization step of the logits: the scale of the last quantized activation."""
    return json.load(open(report))["activations"][-1]["scale"]


def check_bad_input(dlc, model, calib, work):
    out = os.path.join(work, "bad.onnx")
    np.savez(os.path.join(work, "wrong_name.npz"), pixels=np.zeros((4, 1, 28, 28), np.float32))
    np.savez(os.path.join(work, "wrong_shape.npz"), image=np.zeros((4, 1, 14, 14), np.float32))
    np.savez(os.path.join(work, "empty.npz"), image=np.zeros((0, 1, 28, 28), np.float32))
    no_ops = os.path.join(work, "no_ops.onnx")
    g = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["image"], ["y"], name="relu")], "g",
                               [onnx.helper.make_tensor_value_info("image", onnx.TensorProto.FLOAT, [None, 1, 28, 28])],
                               [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [None, 1, 28, 28])])
    onnx.save(onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", 17)]), no_ops)
    cases = [
        ([model, "-o", out], "needs --calibrate"),
        ([model, "-o", out, "--calibrate", os.path.join(work, "wrong_name.npz")], "has no array 'image'"),
        ([model, "-o", out, "--calibrate", os.path.join(work, "wrong_shape.npz")], "has shape"),
        ([model, "-o", out, "--calibrate", os.path.join(work, "empty.npz")], "no samples"),
        ([model, "-o", out, "--calibrate", os.path.join(work, "missing.npz")], "missing.npz"),
        ([no_ops, "-o", out, "--calibrate", calib], "no op to quantize"),
        ([model, "-o", out, "--mode", "dynamic", "--method", "percentile"], "applies to static"),
        ([model, "-o", out, "--calibrate", calib, "--method", "kl"], "is not minmax, percentile, entropy or mse"),
        ([model, "-o", out, "--calibrate", calib, "--dtype", "int4"], "add --mode weight-only"),
        ([model, "-o", os.path.join(work, "bad.txt"), "--calibrate", calib], "must end in .onnx or .dlc"),
        ([model, "-o", out, "--calibrate", calib, "--max-accuracy-drop", "1"], "needs --eval"),
        ([model, "-o", out, "--calibrate", calib, "--exclude-op", "Relu"], "Conv, MatMul, Gemm, LSTM and GRU only"),
    ]
    for args, expect in cases:
        if os.path.exists(out):
            os.remove(out)
        p = run([dlc, "quantize", *args])
        lines = p.stderr.strip().splitlines()
        ok = p.returncode != 0 and len(lines) == 1 and lines[0].startswith("dlc: error:") and expect in lines[0]
        ok = ok and not os.path.exists(out) and not os.path.exists(out + ".tmp")
        check(ok, f"bad input {' '.join(os.path.basename(a) for a in args[2:])}: {lines[-1] if lines else '(no message)'}")
    p = run([dlc, "quantize", "--help"])
    check(p.returncode == 0 and "--per-channel" in p.stdout, "dlc quantize --help")


def check_pytorch_qdq(dlc, work):
    """fuse-qdq on QDQ made by another tool: PyTorch's QAT (FX, per-channel weights) exported to ONNX."""
    from torch.ao.quantization import (FakeQuantize, MovingAverageMinMaxObserver, MovingAveragePerChannelMinMaxObserver,
                                       QConfig, QConfigMapping)
    from torch.ao.quantization.quantize_fx import prepare_qat_fx
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                      nn.Flatten(), nn.Linear(16 * 4 * 4, 10)).train()
    x = torch.randn(4, 3, 8, 8)
    qc = QConfig(activation=FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                                                   dtype=torch.quint8),
                 weight=FakeQuantize.with_args(observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
                                               dtype=torch.qint8, qscheme=torch.per_channel_symmetric))
    qat = prepare_qat_fx(m, QConfigMapping().set_global(qc), (x,))
    with torch.no_grad():
        for _ in range(5):
            qat(torch.randn(16, 3, 8, 8))
    qat.apply(torch.ao.quantization.disable_observer)
    qat.eval()
    path = os.path.join(work, "pytorch_qat.onnx")
    torch.onnx.export(qat, (x,), path, input_names=["x"], output_names=["y"], opset_version=13)
    with torch.no_grad():
        want = qat(x).numpy()
    model = onnx.load(path)
    last_q = [n for n in model.graph.node if n.op_type == "QuantizeLinear"][-1]
    values = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    values.update({n.output[0]: onnx.numpy_helper.to_array(n.attribute[0].t) for n in model.graph.node if n.op_type == "Constant"})
    step = float(values[last_q.input[1]])
    x = x.numpy()
    oracle = dlc_outputs(dlc, path, x, os.path.join(work, "pt_oracle"), "--target", "reference", "-O0")
    fused = dlc_outputs(dlc, path, x, os.path.join(work, "pt_fused"), "--target", "onednn")
    p = run([dlc, "inspect", path, "--target", "onednn"])
    check("QLinearConv: 3" in p.stdout and "Conv: " not in p.stdout.replace("QLinearConv", ""),
          "PyTorch QAT export: both convolutions and the Linear layer become QLinearConv")
    err = float(np.abs(fused - oracle).max())
    check(err <= step * 1.0001, f"PyTorch QAT export fused vs the unfused oracle: {err / step:.2f} steps")
    err = float(np.abs(oracle - want).max())
    check(err <= step * 1.0001, f"PyTorch QAT export on dlc vs PyTorch's fake-quantized output: {err / step:.2f} steps")


def check_latency_aware(dlc, model, calib, work):
    """--latency-aware: the report's timings and choices are consistent with the model written (the
    choices themselves depend on this machine's timings, so they are reported, not asserted)."""
    out = os.path.join(work, "cnn_latency.dlc")
    report = os.path.join(work, "report_latency.json")
    p = quantize(dlc, model, out, "--calibrate", calib, "--per-channel", "--latency-aware", "--report", report)
    print(p.stderr.strip())
    rep = json.load(open(report))
    lat = rep.get("latency", {})
    ok = lat.get("float_ms", 0) > 0 and lat.get("all_quantized_ms", 0) > 0 and 0 < lat.get("chosen_ms", 0) <= lat["all_quantized_ms"]
    check(ok and lat.get("trials") and lat.get("target") == "onednn", f"--latency-aware: timings reported ({lat})")
    kept = {f["node"] for f in rep["float"] if "--latency-aware" in f["reason"]}
    trials_kept = sum(t["layers"] for t in lat.get("trials", []) if t["kept_float"])
    if lat.get("float_faster"):
        check(not rep["quantized"], "--latency-aware: the float model was faster, so nothing is quantized")
    else:
        check(len(kept) == trials_kept and not kept & {q["node"] for q in rep["quantized"]},
              f"--latency-aware: the {trials_kept} layers of the groups kept in float are the ones the report lists in float")
    for args, expect in (([model, "-o", out, "--mode", "dynamic", "--latency-aware"], "give one"),
                         ([model, "-o", out, "--dtype", "fp16", "--latency-aware"], "not to --dtype")):
        if os.path.exists(out):
            os.remove(out)
        p = run([dlc, "quantize", *args])
        check(p.returncode != 0 and expect in p.stderr and not os.path.exists(out), f"--latency-aware bad use: {p.stderr.strip()}")


def check_integer_concat(dlc, work):
    """Two convolution branches concatenated (Inception's shape): the branches take the Concat's
    parameters, so after fuse-qdq the Concat runs on the integers (no DequantizeLinear but the
    output's), and the fused .dlc equals the unfused oracle within one step."""
    class Branches(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 8, 1), nn.Conv2d(3, 8, 3, padding=1)
            self.c, self.fc = nn.Conv2d(16, 8, 3, padding=1), nn.Linear(8, 4)

        def forward(self, x):
            y = torch.cat([torch.relu(self.a(x)), torch.relu(self.b(x))], 1)
            return self.fc(torch.relu(self.c(y)).mean((2, 3)))

    torch.manual_seed(4)
    model = Branches().eval()
    path = os.path.join(work, "branches.onnx")
    torch.onnx.export(model, (torch.zeros(1, 3, 8, 8),), path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, opset_version=17)
    rng = np.random.default_rng(3)
    calib = os.path.join(work, "branches_calib.npz")
    np.savez(calib, x=rng.standard_normal((64, 3, 8, 8)).astype(np.float32))
    q = os.path.join(work, "branches_q.onnx")
    report = os.path.join(work, "branches.json")
    quantize(dlc, path, q, "--calibrate", calib, "--report", report)
    p = run([dlc, "inspect", q, "--target", "onednn"])
    counts = dict(line.strip().split(": ") for line in p.stdout.splitlines() if line.startswith("  ") and ": " in line
                  and line.strip().split(": ")[1].isdigit())
    check(counts.get("QLinearConv") == "4" and counts.get("Concat") == "1" and counts.get("DequantizeLinear", "0") in ("1", "2"),
          f"Concat of two quantized branches runs on the integers ({ {k: v for k, v in counts.items() if 'uantize' in k or 'QLinear' in k or k == 'Concat'} })")
    x = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)
    oracle = dlc_outputs(dlc, q, x, os.path.join(work, "branches_oracle"), "--target", "reference", "-O0")
    fused = dlc_outputs(dlc, q, x, os.path.join(work, "branches_fused"), "--target", "onednn")
    step = logits_step(report)
    err = float(np.abs(fused - oracle).max())
    check(err <= step * 1.0001, f"integer Concat: fused vs the unfused oracle within {err / step:.2f} steps")


def check_unnamed_nodes(dlc, work):
    """Nodes without names (optional in ONNX) still get distinct names in the report and --exclude."""
    rng = np.random.default_rng(0)
    w1 = onnx.numpy_helper.from_array(rng.standard_normal((16, 8)).astype(np.float32), "w1")
    w2 = onnx.numpy_helper.from_array(rng.standard_normal((8, 4)).astype(np.float32), "w2")
    g = onnx.helper.make_graph([onnx.helper.make_node("MatMul", ["x", "w1"], ["h"]), onnx.helper.make_node("Relu", ["h"], ["r"]),
                                onnx.helper.make_node("MatMul", ["r", "w2"], ["y"])], "g",
                               [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [None, 16])],
                               [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [None, 4])], [w1, w2])
    model = os.path.join(work, "unnamed.onnx")
    onnx.save(onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", 17)]), model)
    calib = os.path.join(work, "unnamed_calib.npz")
    np.savez(calib, x=rng.standard_normal((64, 16)).astype(np.float32))
    report = os.path.join(work, "unnamed.json")
    quantize(dlc, model, os.path.join(work, "unnamed_q.onnx"), "--calibrate", calib, "--report", report)
    nodes = [q["node"] for q in json.load(open(report))["quantized"]]
    check(len(nodes) == 2 and len(set(nodes)) == 2 and all(nodes), f"unnamed nodes get distinct names: {nodes}")
    quantize(dlc, model, os.path.join(work, "unnamed_q.onnx"), "--calibrate", calib, "--report", report, "--exclude", nodes[1])
    rep = json.load(open(report))
    check([q["node"] for q in rep["quantized"]] == nodes[:1] and [f["node"] for f in rep["float"]] == nodes[1:],
          "--exclude with a generated name leaves exactly that node in float")


def check_bias_correction(dlc, work):
    """--bias-correction removes the mean output error that weight rounding causes, per output channel:
    measured here on the calibration samples, against NumPy's float layer, for a Gemm, a grouped Conv
    and a MatMul + Add on 3-D input (each with one large weight, so per-tensor steps are coarse)."""
    rng = np.random.default_rng(5)
    torch.manual_seed(5)
    cases = {
        "gemm": (nn.Linear(64, 32), (256, 64)),
        "conv": (nn.Conv2d(8, 16, 3, groups=2), (64, 8, 10, 10)),
        "matmul": (nn.Linear(48, 24), (32, 6, 48)),
    }
    for name, (layer, shape) in cases.items():
        with torch.no_grad():
            layer.weight.view(-1)[0] = 3.0
        layer.eval()
        path = os.path.join(work, f"bias_{name}.onnx")
        torch.onnx.export(layer, (torch.zeros((1,) + shape[1:]),), path, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, opset_version=17)
        x = rng.uniform(0.0, 2.0, shape).astype(np.float32)  # post-ReLU-like: a mean far from 0
        calib = os.path.join(work, f"bias_{name}_calib.npz")
        np.savez(calib, x=x)
        with torch.no_grad():
            y_float = layer(torch.from_numpy(x)).numpy()
        channel_axis = 1 if name == "conv" else -1
        errors = {}
        for tag, extra in (("plain", []), ("corrected", ["--bias-correction"])):
            q = os.path.join(work, f"bias_{name}_{tag}.onnx")
            report = os.path.join(work, f"bias_{name}_{tag}.json")
            quantize(dlc, path, q, "--calibrate", calib, "--report", report, *extra)
            y = dlc_outputs(dlc, q, x, os.path.join(work, f"bias_{name}_{tag}"), "--target", "reference", "-O0")
            e = np.moveaxis(y - y_float, channel_axis, 0).reshape(y.shape[channel_axis], -1).mean(axis=1)
            errors[tag] = float(np.abs(e).mean())
            rep = json.load(open(report))
            if extra:
                check(rep["bias_correction"] and rep["quantized"][0]["bias_shift"] > 0,
                      f"bias correction ({name}): the report gives the bias shift {rep['quantized'][0]['bias_shift']:.3g}")
        check(errors["corrected"] <= 0.25 * errors["plain"],
              f"bias correction ({name}): mean |per-channel mean output error| {errors['plain']:.4g} -> {errors['corrected']:.4g}")
    out = os.path.join(work, "bias_bad.onnx")
    p = run([dlc, "quantize", os.path.join(work, "bias_gemm.onnx"), "-o", out, "--mode", "dynamic", "--bias-correction"])
    check(p.returncode != 0 and "applies to static" in p.stderr and not os.path.exists(out),
          f"--bias-correction outside static mode: {p.stderr.strip()}")


def check_qoperator_contrib(dlc, work, ort_dir):
    """ONNX Runtime's QOperator contrib ops (com.microsoft QLinearAdd, QLinearMul,
    QLinearGlobalAveragePool, QLinearConcat; u8 with zero points and s8 without) import as QDQ
    chains: against NumPy's dequantize -> op -> quantize, within one output step, on the reference
    and onednn targets, and against ONNX Runtime running the same file."""
    from onnx import TensorProto, helper
    rng = np.random.default_rng(7)
    inits = []

    def const(name, value, dtype):
        inits.append(onnx.numpy_helper.from_array(np.array(value, dtype=dtype), name))
        return name

    q = {  # name: (scale, zero point) of each quantized tensor
        "xq": (0.05, 128), "yq": (0.04, 100), "a": (0.08, 120), "m": (0.1, 90), "g": (0.02, 110), "c": (0.09, 125)}
    for t, (sc, zp) in q.items():
        const(f"{t}_s", sc, np.float32)
        const(f"{t}_z", zp, np.uint8)
    const("i_s", 0.03, np.float32)
    const("i_z", 0, np.int8)
    const("k_s", 0.05, np.float32)
    const("k_z", 0, np.int8)
    ms = "com.microsoft"
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xq_s", "xq_z"], ["xq"], name="qx"),
        helper.make_node("QuantizeLinear", ["y", "yq_s", "yq_z"], ["yq"], name="qy"),
        helper.make_node("QLinearAdd", ["xq", "xq_s", "xq_z", "yq", "yq_s", "yq_z", "a_s", "a_z"], ["a"], name="add", domain=ms),
        helper.make_node("QLinearMul", ["xq", "xq_s", "xq_z", "yq", "yq_s", "yq_z", "m_s", "m_z"], ["m"], name="mul", domain=ms),
        helper.make_node("QLinearGlobalAveragePool", ["yq", "yq_s", "yq_z", "g_s", "g_z"], ["g"], name="gap", domain=ms),
        helper.make_node("QLinearConcat", ["c_s", "c_z", "xq", "xq_s", "xq_z", "yq", "yq_s", "yq_z"], ["c"], name="cat", axis=1,
                         domain=ms),
        helper.make_node("QuantizeLinear", ["x", "i_s", "i_z"], ["xi"], name="qi"),
        helper.make_node("QLinearAdd", ["xi", "i_s", "i_z", "xi", "i_s", "i_z", "k_s", "k_z"], ["k"], name="add_s8", domain=ms),
    ]
    shape = [2, 4, 5, 5]
    outs = []
    # Each op reads the quantized inputs directly: chained, one op's rounding (oneDNN and ORT may
    # round a halfway value the other way) would move the next op's result by several steps.
    for t, dims in (("a", shape), ("m", shape), ("g", [2, 4, 1, 1]), ("c", [2, 8, 5, 5]), ("k", shape)):
        nodes.append(helper.make_node("DequantizeLinear", [t, f"{t}_s", f"{t}_z"], [f"{t}_f"], name=f"dq_{t}"))
        outs.append(helper.make_tensor_value_info(f"{t}_f", TensorProto.FLOAT, dims))
    g = helper.make_graph(nodes, "qop", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape),
                                         helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], outs, inits)
    path = os.path.join(work, "qoperator.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(ms, 1)]), path)
    x = rng.uniform(-2, 2, shape).astype(np.float32)
    y = rng.uniform(-2, 2, shape).astype(np.float32)

    def qz(v, sc, zp, lo=0, hi=255):
        return np.clip(np.rint(v / np.float32(sc)) + zp, lo, hi)

    def dq(v, sc, zp):
        return ((v - zp) * np.float32(sc)).astype(np.float32)

    xq, yq = qz(x, *q["xq"]), qz(y, *q["yq"])
    xf, yf = dq(xq, *q["xq"]), dq(yq, *q["yq"])
    want = [dq(qz(xf + yf, *q["a"]), *q["a"]), dq(qz(xf * yf, *q["m"]), *q["m"]),
            dq(qz(yf.mean(axis=(2, 3), keepdims=True), *q["g"]), *q["g"]),
            dq(qz(np.concatenate([xf, yf], axis=1), *q["c"]), *q["c"])]
    xi = qz(x, 0.03, 0, -128, 127)
    want.append(dq(qz(2 * dq(xi, 0.03, 0), 0.05, 0, -128, 127), 0.05, 0))
    steps = [q["a"][0], q["m"][0], q["g"][0], q["c"][0], 0.05]
    np.save(os.path.join(work, "qop_x.npy"), x)
    np.save(os.path.join(work, "qop_y.npy"), y)
    for target, opt in (("reference", "-O0"), ("onednn", "-O2")):
        out_dir = os.path.join(work, f"qop_{target}")
        p = run([dlc, "run", path, "--input", os.path.join(work, "qop_x.npy"), "--input", os.path.join(work, "qop_y.npy"),
                 "--output-dir", out_dir, "--target", target, opt])
        if p.returncode != 0:
            check(False, f"QOperator contrib ops on {target}: {p.stderr.strip()}")
            continue
        got = [np.load(os.path.join(out_dir, f"output_{i}.npy")) for i in range(5)]
        worst = max(float(np.abs(gv - w).max()) / st for gv, w, st in zip(got, want, steps))
        check(worst <= 1.0001, f"QOperator contrib ops on --target {target} vs NumPy: within {worst:.2f} steps")
    if ort_dir:
        import check_export_ort
        ort_out, _ = check_export_ort.run_ort(ort_dir, path, [x, y], os.path.join(work, "qop_ort"))
        worst = max(float(np.abs(o - w).max()) / st for o, w, st in zip(ort_out, want, steps))
        check(worst <= 1.0001, f"ONNX Runtime on the same QOperator model vs NumPy: within {worst:.2f} steps")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--train-epochs", type=int, default=0)
    ap.add_argument("--ort-cache")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    data = os.path.join(TESTS, "training", "fashion_mnist.py")
    subprocess.run([sys.executable, data, os.path.join(a.work, "data")], check=True)
    train = np.load(os.path.join(a.work, "data", "train.npz"))
    test = np.load(os.path.join(a.work, "data", "test.npz"))
    xtr, ytr, xte, yte = train["image"], train["target"], test["image"], test["target"]

    torch.manual_seed(0)
    model = cnn()
    if a.train_epochs:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(xtr), torch.from_numpy(ytr)),
                                             batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0))
        for _ in range(a.train_epochs):
            model.train()
            for xb, yb in loader:
                opt.zero_grad()
                nn.functional.cross_entropy(model(xb), yb).backward()
                opt.step()
    else:
        # Untrained, but with BatchNorm statistics of real data so activations have realistic ranges.
        model.train()
        with torch.no_grad():
            for i in range(0, 2000, 500):
                model(torch.from_numpy(xtr[i:i + 500]))
    model.eval()
    float_onnx = os.path.join(a.work, "cnn.onnx")
    torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), float_onnx, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, opset_version=17)
    calib = os.path.join(a.work, "calib.npz")
    np.savez(calib, image=xtr[:500])
    n_eval = 10000 if a.train_epochs else 1000
    eval_path = os.path.join(a.work, "eval.npz")
    np.savez(eval_path, image=xte[:n_eval], target=yte[:n_eval])

    check_bad_input(a.dlc, float_onnx, calib, a.work)
    check_pytorch_qdq(a.dlc, a.work)
    check_unnamed_nodes(a.dlc, a.work)
    check_bias_correction(a.dlc, a.work)
    check_latency_aware(a.dlc, float_onnx, calib, a.work)
    check_integer_concat(a.dlc, a.work)
    ort_dir = None
    if a.ort_cache:
        import check_export_ort
        ort_dir = check_export_ort.install_ort(a.ort_cache)
    check_qoperator_contrib(a.dlc, a.work, ort_dir)

    # Per-tensor and per-channel, with accuracy on the eval set.
    results = {}
    for name, options in (("per-tensor", []), ("per-channel", ["--per-channel"])):
        q = os.path.join(a.work, f"cnn_{name}.onnx")
        report = os.path.join(a.work, f"report_{name}.json")
        p = quantize(a.dlc, float_onnx, q, "--calibrate", calib, "--eval", eval_path, "--report", report, *options)
        print(p.stderr.strip())
        results[name] = (q, report, json.load(open(report)))
    if a.train_epochs:  # the other calibration methods, reported (mse also checked)
        for method in ("percentile", "mse", "entropy"):
            report = os.path.join(a.work, f"report_{method}.json")
            quantize(a.dlc, float_onnx, os.path.join(a.work, f"cnn_{method}.onnx"), "--calibrate", calib, "--per-channel",
                     "--method", method, "--eval", eval_path, "--report", report)
            rep = json.load(open(report))
            drop = rep["accuracy_float"] - rep["accuracy_quantized"]
            print(f"int8 per-channel --method {method}: {rep['accuracy_quantized']:.2f}% (drop {drop:.2f} points)")
            if method == "mse":
                check(drop <= 0.5, f"--method mse loses {drop:.2f} <= 0.5 points")
        for name, options in (("per-tensor", []), ("per-channel", ["--per-channel"])):
            report = os.path.join(a.work, f"report_{name}_bias.json")
            quantize(a.dlc, float_onnx, os.path.join(a.work, f"cnn_{name}_bias.onnx"), "--calibrate", calib, "--bias-correction",
                     "--eval", eval_path, "--report", report, *options)
            rep = json.load(open(report))
            drop = rep["accuracy_float"] - rep["accuracy_quantized"]
            print(f"int8 {name} --bias-correction: {rep['accuracy_quantized']:.2f}% (drop {drop:.2f} points), "
                  f"output SQNR {rep['output_sqnr_db']:.1f} dB")
            check(drop <= 0.5, f"int8 {name} --bias-correction loses {drop:.2f} <= 0.5 points")
    r = results["per-channel"][2]
    torch_acc = torch_accuracy(model, xte[:n_eval], yte[:n_eval])
    check(abs(r["accuracy_float"] - torch_acc) <= 0.011,
          f"float accuracy measured by dlc {r['accuracy_float']:.2f}% = PyTorch's {torch_acc:.2f}% ({n_eval} images)")
    check(len(r["quantized"]) == 4 and not r["float"], f"4 of 4 Conv/Gemm layers quantized ({len(r['quantized'])})")
    check(r["weight_bytes_quantized"] * 3.5 < r["weight_bytes_float"],
          f"weights {r['weight_bytes_float']} -> {r['weight_bytes_quantized']} bytes")
    size, q_size = os.path.getsize(float_onnx), os.path.getsize(results["per-channel"][0])
    check(q_size * 3.5 < size, f"the int8 .onnx file is {q_size} bytes, the float one {size}")

    # Half-precision weights: half the file, outputs within the type's rounding, ONNX Runtime agrees.
    half_outputs = {}
    for half, bound in (("fp16", 1e-3), ("bf16", 1e-2)):
        q = os.path.join(a.work, f"cnn_{half}.onnx")
        quantize(a.dlc, float_onnx, q, "--dtype", half)
        check(os.path.getsize(q) * 1.9 < size, f"--dtype {half}: {os.path.getsize(q)} bytes against {size}")
        half_outputs[half] = (q, bound)
    for name, (_, _, rep) in results.items():
        drop = rep["accuracy_float"] - rep["accuracy_quantized"]
        print(f"int8 {name}: {rep['accuracy_quantized']:.2f}% (float {rep['accuracy_float']:.2f}%, drop {drop:.2f} points), "
              f"output SQNR {rep['output_sqnr_db']:.1f} dB")
        if a.train_epochs:
            limit = 0.5 if name == "per-channel" else 1.5
            check(drop <= limit, f"int8 {name} loses {drop:.2f} <= {limit} points")
        else:
            check(rep["output_sqnr_db"] > 20, f"int8 {name}: output SQNR {rep['output_sqnr_db']:.1f} dB > 20")

    # The oracle: the QDQ model unfused on the reference interpreter; against it, the compiled .dlc
    # (integer kernels) and ONNX Runtime.
    q_onnx, report, _ = results["per-channel"]
    step = logits_step(report)
    x = xte[:16]
    oracle = dlc_outputs(a.dlc, q_onnx, x, os.path.join(a.work, "oracle"), "--target", "reference", "-O0")
    q_dlc = os.path.join(a.work, "cnn_per-channel.dlc")
    quantize(a.dlc, float_onnx, q_dlc, "--calibrate", calib, "--per-channel", "--target", "onednn")
    fused = dlc_outputs(a.dlc, q_dlc, x, os.path.join(a.work, "fused"))
    err = float(np.abs(fused - oracle).max())
    check(err <= step * 1.0001, f".dlc with QLinearConv vs the unfused QDQ oracle: max error {err:.3g} <= one step {step:.3g}")
    # The fused graph has 4 QLinearConv (2 convolutions, 2 linear layers as 1x1); the .dlc (symbolic
    # batch) runs all of it as oneDNN steps.
    p = run([a.dlc, "inspect", q_onnx, "--target", "onednn"])
    check("QLinearConv: 4" in p.stdout, "the fused model has 4 QLinearConv (2 convolutions, 2 linear layers as 1x1)")
    p = run([a.dlc, "inspect", q_dlc])
    check("onednn/segment" in p.stdout and "reference/" not in p.stdout, "the .dlc runs as oneDNN steps only")
    float_out = dlc_outputs(a.dlc, float_onnx, x, os.path.join(a.work, "float"), "--target", "reference")
    rel = float(np.abs(oracle - float_out).max() / np.abs(float_out).max())
    check(rel < 0.1, f"quantized logits within {rel:.3f} of max|float logits|")

    try:
        onnx.checker.check_model(onnx.load(q_onnx), full_check=True)
        check(True, "onnx.checker accepts the QDQ model")
    except Exception as e:  # noqa: BLE001
        check(False, f"onnx.checker: {e}")
    if a.ort_cache:
        import check_export_ort
        ort_dir = check_export_ort.install_ort(a.ort_cache)
        outs, _ = check_export_ort.run_ort(ort_dir, q_onnx, [x], os.path.join(a.work, "ort"))
        err = float(np.abs(outs[0] - oracle).max())
        check(err <= step * 1.0001, f"ONNX Runtime on the QDQ model vs the oracle: max error {err:.3g} <= one step {step:.3g}")

    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    for half, (q, bound) in half_outputs.items():
        got = dlc_outputs(a.dlc, q, x, os.path.join(a.work, half), "--target", "onednn")
        rel = float(np.abs(got - want).max() / np.abs(want).max())
        check(rel < bound, f"--dtype {half}: outputs within {rel:.2g} of max|y| of PyTorch's float model (< {bound})")
        if a.ort_cache:
            outs, _ = check_export_ort.run_ort(ort_dir, q, [x], os.path.join(a.work, f"ort_{half}"))
            err = float(np.abs(outs[0] - got).max() / np.abs(want).max())
            check(err < 1e-4, f"--dtype {half}: ONNX Runtime agrees with dlc ({err:.2g} of max|y|)")

    # Half compute: fp16 everywhere but the graph's ends (ONNX, ORT runs it); bf16 in a .dlc, one
    # oneDNN segment; bf16 in ONNX keeps Conv computing in f32 (no bfloat16 Conv in ONNX) and says so.
    q = os.path.join(a.work, "cnn_fp16_compute.onnx")
    quantize(a.dlc, float_onnx, q, "--dtype", "fp16", "--half-compute")
    m = onnx.load(q)
    casts = [n for n in m.graph.node if n.op_type == "Cast"]
    check(len(casts) == 2 and all(i.data_type == onnx.TensorProto.FLOAT16 for i in m.graph.initializer
                                  if i.data_type != onnx.TensorProto.INT64),
          f"--half-compute fp16: one Cast in, one out ({len(casts)} Casts), every weight f16")
    got = dlc_outputs(a.dlc, q, x, os.path.join(a.work, "fp16_compute"), "--target", "reference")
    rel = float(np.abs(got - want).max() / np.abs(want).max())
    check(rel < 3e-3, f"--half-compute fp16: outputs within {rel:.2g} of max|y| of PyTorch's float model (< 3e-3)")
    if a.ort_cache:
        outs, _ = check_export_ort.run_ort(ort_dir, q, [x], os.path.join(a.work, "ort_fp16_compute"))
        err = float(np.abs(outs[0] - got).max() / np.abs(want).max())
        check(err < 2e-3, f"--half-compute fp16: ONNX Runtime agrees with dlc ({err:.2g} of max|y|)")
    q = os.path.join(a.work, "cnn_bf16_compute.dlc")
    quantize(a.dlc, float_onnx, q, "--dtype", "bf16", "--half-compute", "--input-shape", f"image={len(x)}x1x28x28")
    p = run([a.dlc, "inspect", q])
    check("onednn/segment: 1" in p.stdout and "reference/" not in p.stdout, "--half-compute bf16 .dlc: one oneDNN segment")
    got = dlc_outputs(a.dlc, q, x, os.path.join(a.work, "bf16_compute"))
    rel = float(np.abs(got - want).max() / np.abs(want).max())
    check(rel < 2e-2, f"--half-compute bf16 on oneDNN: outputs within {rel:.2g} of max|y| of PyTorch's float model (< 2e-2)")
    report = os.path.join(a.work, "report_bf16_compute.json")
    quantize(a.dlc, float_onnx, os.path.join(a.work, "cnn_bf16_compute.onnx"), "--dtype", "bf16", "--half-compute", "--report", report)
    rep = json.load(open(report))
    check(sorted(f["op"] for f in rep["f32_compute"]) == ["Conv", "Conv"] and "bfloat16" in rep["f32_compute"][0]["reason"],
          "--half-compute bf16 to ONNX: the 2 Conv layers compute in f32, and the report says why")
    p = run([a.dlc, "quantize", float_onnx, "-o", os.path.join(a.work, "bad.onnx"), "--half-compute"])
    check(p.returncode != 0 and "applies to --dtype fp16|bf16" in p.stderr, f"--half-compute alone: {p.stderr.strip()}")

    # Dynamic: the Linear layers quantize their input at run time; ONNX Runtime runs the same ops.
    q_dyn = os.path.join(a.work, "cnn_dynamic.onnx")
    report = os.path.join(a.work, "report_dynamic.json")
    p = quantize(a.dlc, float_onnx, q_dyn, "--mode", "dynamic", "--per-channel", "--eval", eval_path, "--report", report)
    print(p.stderr.strip())
    rep = json.load(open(report))
    drop = rep["accuracy_float"] - rep["accuracy_quantized"]
    print(f"int8 dynamic: {rep['accuracy_quantized']:.2f}% (drop {drop:.2f} points), output SQNR {rep['output_sqnr_db']:.1f} dB")
    check(len(rep["quantized"]) == 2 and all(f["op"] == "Conv" for f in rep["float"]),
          "dynamic: the 2 Gemm layers quantized, the 2 Conv layers left in float")
    check(drop <= 0.5 if a.train_epochs else rep["output_sqnr_db"] > 20, f"int8 dynamic loses {drop:.2f} points")
    # Across runtimes, on an MLP: each Linear layer's input is then computed by the same integer and
    # f32 operations everywhere, so the run-time quantization sees the same values (in the CNN, the
    # float convolutions' last-bit differences can move an input across a quantization level).
    torch.manual_seed(1)
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)).eval()
    mlp_onnx = os.path.join(a.work, "mlp.onnx")
    torch.onnx.export(mlp, (torch.zeros(1, 1, 28, 28),), mlp_onnx, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, opset_version=17)
    mlp_dyn = os.path.join(a.work, "mlp_dynamic.onnx")
    quantize(a.dlc, mlp_onnx, mlp_dyn, "--mode", "dynamic", "--per-channel")
    dyn = dlc_outputs(a.dlc, mlp_dyn, x, os.path.join(a.work, "dynamic"), "--target", "reference", "-O0")
    dyn_dlc = dlc_outputs(a.dlc, mlp_dyn, x, os.path.join(a.work, "dynamic_onednn"), "--target", "onednn")
    with torch.no_grad():
        ref = mlp(torch.from_numpy(x)).numpy()
    scale = float(np.abs(ref).max())
    check(float(np.abs(dyn - ref).max()) < 0.05 * scale, "dynamic MLP within 5% of max|y| of PyTorch's float outputs")
    err = float(np.abs(dyn_dlc - dyn).max())
    check(err <= 1e-5 * scale, f"dynamic MLP: --target onednn vs the reference: max error {err:.3g} (max|y| {scale:.3g})")
    if a.ort_cache:
        outs, _ = check_export_ort.run_ort(ort_dir, mlp_dyn, [x], os.path.join(a.work, "ort_dynamic"))
        err = float(np.abs(outs[0] - dyn).max())
        check(err <= 1e-5 * scale, f"ONNX Runtime on the dynamic MLP vs dlc: max error {err:.3g} (max|y| {scale:.3g})")

    if a.train_epochs:
        # A harmful configuration (activations clipped at their 99th percentile) that the bound must
        # repair by putting layers back in float.
        clipped = os.path.join(a.work, "cnn_clipped_bounded.onnx")
        report = os.path.join(a.work, "report_clipped_bounded.json")
        p = run([a.dlc, "quantize", float_onnx, "-o", clipped, "--calibrate", calib, "--method", "percentile",
                 "--percentile", "99", "--eval", eval_path, "--max-accuracy-drop", "0.2", "--report", report])
        print(p.stderr.strip())
        rep = json.load(open(report))
        b = rep["accuracy_bound"]
        drop = rep["accuracy_float"] - rep["accuracy_quantized"]
        if b["met"]:
            check(p.returncode == 0 and drop <= 0.2 and b["evaluations"] <= 4,
                  f"accuracy-bounded (percentile 99): drop {drop:.2f} <= 0.2 points in {b['evaluations']} evaluations, "
                  f"float: {[f['node'] for f in rep['float']]}")
        else:
            check(p.returncode != 0 and "accuracy bound not met" in p.stderr and os.path.exists(clipped),
                  f"accuracy-bounded (percentile 99): bound not met (drop {drop:.2f}), said so and kept the best model")

        bounded = os.path.join(a.work, "cnn_bounded.onnx")
        report = os.path.join(a.work, "report_bounded.json")
        p = run([a.dlc, "quantize", float_onnx, "-o", bounded, "--calibrate", calib, "--per-channel", "--eval", eval_path,
                 "--max-accuracy-drop", "0.2", "--report", report])
        print(p.stderr.strip())
        rep = json.load(open(report))
        b = rep["accuracy_bound"]
        drop = rep["accuracy_float"] - rep["accuracy_quantized"]
        if b["met"]:
            check(p.returncode == 0 and drop <= 0.2, f"accuracy-bounded: drop {drop:.2f} <= 0.2 points in {b['evaluations']} evaluations, "
                                                   f"{len(rep['float'])} layers in float")
        else:
            check(p.returncode != 0 and "accuracy bound not met" in p.stderr and os.path.exists(bounded),
                  f"accuracy-bounded: bound not met (drop {drop:.2f}), said so and kept the best model")

    print("ok" if not failures else f"FAIL: {len(failures)} checks failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
