#!/usr/bin/python3
"""`dlc quantize --mode dynamic` on LSTM and GRU, checked against independent results:

- LSTM becomes ONNX Runtime's com.microsoft DynamicQuantizeLSTM: ONNX Runtime 1.30 (--ort-cache)
  runs the written .onnx with dlc's outputs, and so does dlc on the reference, cpu and onednn targets;
- GRU becomes dlc's DynamicQuantizeGRU in a .dlc output (ONNX Runtime has none; the .onnx keeps a
  float GRU and the report says why). A NumPy GRU written here from ONNX's GRU equations, with the
  quantization rules of DynamicQuantizeLSTM's definition (weights (q - zp)·scale; the input and each
  step's hidden state quantized to u8 by DynamicQuantizeLinear's rule), gives the .dlc's outputs,
  with and without linear_before_reset, in both directions;
- an LSTM and a GRU classifier trained by PyTorch (one epoch over 30,000 images) on Debian's
  dataset-fashion-mnist (images as 28 rows of 28 features) keep their 10,000-image test accuracy (measured in float and int8), and the
  recurrent weights are stored 4x smaller;
- bad input: LSTM with batch-first layout stays float with the reason in the report.

usage: dynamic_rnn_test.py --dlc DLC --work DIR [--ort-cache DIR] [--train-epochs N]
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

try:
    import onnx
    import onnx.helper as oh
    import onnx.numpy_helper
    import torch
    import torch.nn as nn
except ImportError as e:
    sys.exit(f"dynamic_rnn_test.py: error: {e} (run with /usr/bin/python3)")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "common"))
from dlc_checks import check, dlc_outputs, dlc_tool, finish  # noqa: E402
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "models"))


class RowClassifier(nn.Module):
    """An image as a sequence of its 28 rows, the last step's output classified."""

    def __init__(self, cell, hidden=96, bidirectional=False):
        super().__init__()
        self.rnn = cell(28, hidden, bidirectional=bidirectional)
        self.fc = nn.Linear(hidden * (2 if bidirectional else 1), 10)

    def forward(self, x):
        y, _ = self.rnn(x.reshape(-1, 28, 28).permute(1, 0, 2))
        return self.fc(y[-1])


def train(model, xtr, ytr, epochs):
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(xtr), torch.from_numpy(ytr)),
                                         batch_size=128, shuffle=True, generator=torch.Generator().manual_seed(0))
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
    model.eval()


def export(model, path):
    torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, opset_version=17)


# --- the quantized GRU in NumPy, from the operators' definitions -------------------------------
def dynamic_quantize(a):
    """DynamicQuantizeLinear: u8 over [min(a, 0), max(a, 0)]; returns q - zp (as int64) and the scale."""
    a = a.astype(np.float32)
    lo, hi = min(np.float32(0), a.min()), max(np.float32(0), a.max())
    scale = np.float32((hi - lo) / np.float32(255))
    if scale == 0:
        return np.zeros(a.shape, np.int64), scale
    zp = np.clip(np.round(-lo / scale), 0, 255)
    q = np.clip(np.round(a / scale) + zp, 0, 255)
    return (q - zp).astype(np.int64), scale


def quantized_product(a, wq, scale, zp):
    """a [M, K] f32 times the 8-bit weight wq [K, N] ((wq - zp)·scale), a quantized at run time."""
    ac, sa = dynamic_quantize(a)
    acc = ac @ (wq.astype(np.int64) - zp.astype(np.int64))
    return acc.astype(np.float32) * (sa * scale.astype(np.float32))


def numpy_dynamic_gru(x, w, r, b, ws, wz, rs, rz, linear_before_reset, direction):
    """ONNX GRU (gates z, r, h; f = sigmoid, g = tanh; layout 0) with DynamicQuantizeGRU's weights:
    w [D, I, 3H], r [D, H, 3H] and per-direction or per-column scales and zero points."""
    seq, batch, _ = x.shape
    dirs, hidden = r.shape[0], r.shape[1]
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    y = np.zeros((seq, dirs, batch, hidden), np.float32)
    for d in range(dirs):
        col = lambda p, lo, hi: p[d] if p.ndim == 1 else p[d, lo:hi]  # noqa: E731
        wb, rb = b[d, :3 * hidden], b[d, 3 * hidden:]
        xw = quantized_product(x.reshape(seq * batch, -1), w[d], col(ws, 0, 3 * hidden), col(wz, 0, 3 * hidden))
        xw = xw.reshape(seq, batch, 3 * hidden) + wb
        h = np.zeros((batch, hidden), np.float32)
        reverse = direction == "reverse" or d == 1
        for step in range(seq):
            t = seq - 1 - step if reverse else step
            hr = quantized_product(h, r[d], col(rs, 0, 3 * hidden), col(rz, 0, 3 * hidden))
            z = sig(xw[t, :, :hidden] + hr[:, :hidden] + rb[:hidden])
            rg = sig(xw[t, :, hidden:2 * hidden] + hr[:, hidden:2 * hidden] + rb[hidden:2 * hidden])
            if linear_before_reset:
                hh = np.tanh(xw[t, :, 2 * hidden:] + rg * (hr[:, 2 * hidden:] + rb[2 * hidden:]))
            else:
                rh = quantized_product(rg * h, r[d][:, 2 * hidden:], col(rs, 2 * hidden, 3 * hidden), col(rz, 2 * hidden, 3 * hidden))
                hh = np.tanh(xw[t, :, 2 * hidden:] + rh + rb[2 * hidden:])
            h = ((1 - z) * hh + z * h).astype(np.float32)
            y[t, d] = h
    return y


def symmetric_int8(w_onnx, per_channel):
    """dlc's weight rule (insert_qdq.h): ONNX's W [D, 3H, K] as int8 [D, K, 3H], s = max|w| / 127."""
    axes = (2,) if per_channel else (1, 2)
    s = np.abs(w_onnx).max(axis=axes).astype(np.float32) / np.float32(127)
    s = np.where(s > 0, s, np.float32(1))
    sb = s[:, :, None] if per_channel else s[:, None, None]
    q = np.clip(np.round(w_onnx / sb), -127, 127).astype(np.int8)
    return q.transpose(0, 2, 1), s, np.zeros(s.shape, np.int8)


def check_gru_oracle(dlc, work):
    """Hand-built GRUs: the .dlc's outputs against the NumPy quantized GRU."""
    rng = np.random.default_rng(7)
    seq, batch, inp, hidden = 6, 3, 10, 12
    x = rng.standard_normal((seq, batch, inp)).astype(np.float32)
    for lbr in (0, 1):
        for direction in ("forward", "bidirectional"):
            for per_channel in (False, True):
                dirs = 2 if direction == "bidirectional" else 1
                w = (rng.standard_normal((dirs, 3 * hidden, inp)) * 0.4).astype(np.float32)
                r = (rng.standard_normal((dirs, 3 * hidden, hidden)) * 0.4).astype(np.float32)
                b = (rng.standard_normal((dirs, 6 * hidden)) * 0.2).astype(np.float32)
                node = oh.make_node("GRU", ["x", "W", "R", "B"], ["y"], name="gru", hidden_size=hidden,
                                    linear_before_reset=lbr, direction=direction)
                graph = oh.make_graph([node], "gru", [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [seq, batch, inp])],
                                      [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [seq, dirs, batch, hidden])],
                                      [onnx.numpy_helper.from_array(a, n) for a, n in ((w, "W"), (r, "R"), (b, "B"))])
                tag = f"gru_lbr{lbr}_{direction}{'_pc' if per_channel else ''}"
                path = os.path.join(work, tag + ".onnx")
                onnx.save(oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)]), path)
                art = os.path.join(work, tag + ".dlc")
                dlc_tool(dlc, "quantize", path, art, "--mode", "dynamic", *(["--per-channel"] if per_channel else []))
                got = dlc_outputs(dlc, art, x, os.path.join(work, tag))
                wq, ws, wz = symmetric_int8(w, per_channel)
                rq, rs, rz = symmetric_int8(r, per_channel)
                want = numpy_dynamic_gru(x, wq, rq, b, ws, wz, rs, rz, lbr, direction)
                err = float(np.abs(got - want).max())
                check(err < 1e-4, f"{tag}: the .dlc's DynamicQuantizeGRU vs NumPy's quantized GRU: max |diff| {err:.2g}")
                float_y = dlc_outputs(dlc, path, x, os.path.join(work, tag + "_float"), "--target", "reference")
                check(float(np.abs(got - float_y).max()) > 0, f"{tag}: the .dlc differs from the float GRU (it is quantized)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--ort-cache")
    ap.add_argument("--train-epochs", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(TESTS, "training", "fashion_mnist.py"), os.path.join(a.work, "data")], check=True)
    train_set = np.load(os.path.join(a.work, "data", "train.npz"))
    test_set = np.load(os.path.join(a.work, "data", "test.npz"))
    # Half the training set is enough for one epoch to reach ~80%, at half the time.
    xtr, ytr = train_set["image"][:30000], train_set["target"][:30000]
    xte, yte = test_set["image"], test_set["target"]
    eval_path = os.path.join(a.work, "eval.npz")
    np.savez(eval_path, x=xte, target=yte)
    ort_dir = None
    if a.ort_cache:
        import check_export_ort
        ort_dir = check_export_ort.install_ort(a.ort_cache)

    check_gru_oracle(a.dlc, a.work)

    x = xte[:16]
    for name, cell, bidirectional in (("lstm", nn.LSTM, True), ("gru", nn.GRU, False)):
        torch.manual_seed(0)
        model = RowClassifier(cell, bidirectional=bidirectional)
        train(model, xtr, ytr, a.train_epochs)
        float_onnx = os.path.join(a.work, f"{name}.onnx")
        export(model, float_onnx)
        with torch.no_grad():
            want_float = model(torch.from_numpy(x)).numpy()
        scale = float(np.abs(want_float).max())
        for out_ext in ("onnx", "dlc"):
            out = os.path.join(a.work, f"{name}_dynamic.{out_ext}")
            report = os.path.join(a.work, f"{name}_{out_ext}_report.json")
            p = dlc_tool(a.dlc, "quantize", float_onnx, out, "--mode", "dynamic", "--eval", eval_path, "--report", report)
            print(p.stderr.strip())
            rep = json.load(open(report))
            ops = {q["op"] for q in rep["quantized"]}
            rnn_op = "LSTM" if name == "lstm" else "GRU"
            recurrent_quantized = rnn_op in ops
            expect_quantized = name == "lstm" or out_ext == "dlc"
            check(recurrent_quantized == expect_quantized,
                  f"{name} -> .{out_ext}: the {rnn_op} is {'quantized' if recurrent_quantized else 'left float'}")
            if not expect_quantized:
                reasons = [f["reason"] for f in rep["float"] if f["op"] == rnn_op]
                check(reasons and "ONNX Runtime" in reasons[0], f"{name} -> .onnx: the report says why the GRU stays float: {reasons}")
            drop = rep["accuracy_float"] - rep["accuracy_quantized"]
            print(f"{name} -> .{out_ext}: test accuracy float {rep['accuracy_float']:.2f}%, dynamic int8 "
                  f"{rep['accuracy_quantized']:.2f}%; weights {rep['weight_bytes_float']} -> {rep['weight_bytes_quantized']} bytes")
            check(drop <= 0.5, f"{name} -> .{out_ext}: dynamic int8 loses {drop:.2f} points of test accuracy (<= 0.5)")
            if recurrent_quantized:
                check(rep["weight_bytes_float"] >= 3.9 * rep["weight_bytes_quantized"],
                      f"{name} -> .{out_ext}: weights {rep['weight_bytes_float'] / rep['weight_bytes_quantized']:.2f}x smaller")
            got = dlc_outputs(a.dlc, out, x, os.path.join(a.work, f"{name}_{out_ext}"))
            rel = float(np.abs(got - want_float).max()) / scale
            check(rel < 0.05, f"{name} -> .{out_ext}: logits within {rel:.4f} of max|y| of PyTorch's float model")
            if out_ext == "onnx":
                m = onnx.load(out)
                kinds = {n.op_type for n in m.graph.node}
                if name == "lstm":
                    lstm = [n for n in m.graph.node if n.op_type == "DynamicQuantizeLSTM"]
                    check(len(lstm) == 1 and lstm[0].domain == "com.microsoft" and "LSTM" not in kinds,
                          "lstm -> .onnx: the LSTM became com.microsoft DynamicQuantizeLSTM")
                for target in ("reference", "cpu", "onednn"):
                    t = dlc_outputs(a.dlc, out, x, os.path.join(a.work, f"{name}_{target}"), "--target", target)
                    err = float(np.abs(t - got).max()) / scale
                    check(err < 1e-5, f"{name} -> .onnx on --target {target} agrees ({err:.2g} of max|y|)")
                if ort_dir:
                    outs, _ = check_export_ort.run_ort(ort_dir, out, [x], os.path.join(a.work, f"ort_{name}"))
                    err = float(np.abs(outs[0] - got).max()) / scale
                    check(err < 1e-4, f"{name} -> .onnx: ONNX Runtime agrees with dlc ({err:.2g} of max|y|)")
                if ort_dir and name == "lstm":
                    # A scale per gate column (zero points 0, as ONNX Runtime requires for int8 ones).
                    pc = os.path.join(a.work, "lstm_dynamic_per_channel.onnx")
                    dlc_tool(a.dlc, "quantize", float_onnx, pc, "--mode", "dynamic", "--per-channel")
                    mine = dlc_outputs(a.dlc, pc, x, os.path.join(a.work, "lstm_pc"))
                    outs, _ = check_export_ort.run_ort(ort_dir, pc, [x], os.path.join(a.work, "ort_lstm_pc"))
                    err = float(np.abs(outs[0] - mine).max()) / scale
                    check(err < 1e-4, f"lstm per-channel -> .onnx: ONNX Runtime agrees with dlc ({err:.2g} of max|y|)")

    # Batch-first LSTM: ONNX Runtime's DynamicQuantizeLSTM has no layout attribute.
    rng = np.random.default_rng(3)
    hidden, inp = 8, 5
    w = rng.standard_normal((1, 4 * hidden, inp)).astype(np.float32)
    r = rng.standard_normal((1, 4 * hidden, hidden)).astype(np.float32)
    node = oh.make_node("LSTM", ["x", "W", "R"], ["y"], name="batch_first", hidden_size=hidden, layout=1)
    graph = oh.make_graph([node], "lstm", [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 4, inp])],
                          [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 4, 1, hidden])],
                          [onnx.numpy_helper.from_array(w, "W"), onnx.numpy_helper.from_array(r, "R")])
    path = os.path.join(a.work, "batch_first.onnx")
    onnx.save(oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)]), path)
    from dlc_checks import run
    out = os.path.join(a.work, "batch_first_q.onnx")
    p = run([a.dlc, "quantize", path, "-o", out, "--mode", "dynamic"])
    lines = p.stderr.strip().splitlines()
    check(p.returncode != 0 and len(lines) == 1 and "batch-first layout" in lines[0] and not os.path.exists(out),
          f"a batch-first LSTM alone: nothing to quantize, with the reason: {lines[-1] if lines else '(no message)'}")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
