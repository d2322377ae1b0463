#!/usr/bin/python3
"""dlc train's training options against the same PyTorch training loop, bit for bit in intent:
gradient clipping by norm (clip_grad_norm_) and by value (clip_grad_value_), gradient accumulation
(loss / N per micro-batch, a step every N), gradient centralization, and stochastic weight
averaging (AveragedModel from an epoch on, SWALR, and update_bn at the end).

A small CNN with BatchNorm (trained in training mode) runs 2-4 epochs over 64 fixed samples in
batches of 16 without shuffling in both engines; the trained weights and BatchNorm statistics
dlc writes must be within 1e-4 * max|w| of PyTorch's, max|w| over the tensor's layer.

usage: options_vs_torch.py --dlc DLC --work DIR
"""
import argparse
import os
import subprocess
import sys

import numpy as np

try:
    import onnx
    from onnx import numpy_helper
    import torch
    import torch.nn as nn
except ImportError as e:
    sys.exit(f"options_vs_torch.py: error: {e} (run with /usr/bin/python3)")

BATCH, SAMPLES = 16, 64


def make_model():
    torch.manual_seed(0)
    # No bias before BatchNorm: its gradient is zero up to rounding noise, which Adam's
    # normalised step turns into full-size steps of arbitrary sign in either engine.
    m = nn.Sequential(nn.Conv2d(1, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 5))
    with torch.no_grad():  # distinct BatchNorm affine values (the exporter merges equal ones)
        m[1].weight.uniform_(0.5, 1.5)
        m[1].bias.uniform_(-0.2, 0.2)
    return m


def torch_train(model, x, t, epochs, opt, clip_norm=0.0, clip_value=0.0, accumulate=1, centralize=False, swa=None):
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(t)),
                                         batch_size=BATCH, shuffle=False, drop_last=True)
    swa_model = torch.optim.swa_utils.AveragedModel(model) if swa else None
    swa_sched = torch.optim.swa_utils.SWALR(opt, swa_lr=swa[1], anneal_epochs=swa[2], anneal_strategy="cos") if swa else None
    micro = 0
    for epoch in range(epochs):
        model.train()
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb) / accumulate
            loss.backward()
            micro += 1
            if micro % accumulate:
                continue
            if clip_norm:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            if clip_value:
                torch.nn.utils.clip_grad_value_(model.parameters(), clip_value)
            if centralize:
                for p in model.parameters():
                    if p.grad is not None and p.grad.dim() > 1:
                        p.grad -= p.grad.mean(dim=tuple(range(1, p.grad.dim())), keepdim=True)
            opt.step()
            opt.zero_grad()
        if swa and epoch >= swa[0]:
            swa_model.update_parameters(model)
            swa_sched.step()
    if swa:
        torch.optim.swa_utils.update_bn(loader, swa_model)
        return {k[len("module."):]: v for k, v in swa_model.state_dict().items() if k.startswith("module.")}
    return model.state_dict()


CASES = [
    ("clip-norm", ["--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9", "--clip-norm", "0.5"], 2,
     lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9), dict(clip_norm=0.5)),
    ("clip-value", ["--optimizer", "adam", "--lr", "0.01", "--clip-value", "0.02"], 2,
     lambda m: torch.optim.Adam(m.parameters(), lr=0.01), dict(clip_value=0.02)),
    ("accumulate", ["--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9", "--accumulate", "2"], 2,
     lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9), dict(accumulate=2)),
    ("accumulate+clip-norm", ["--optimizer", "adamw", "--lr", "0.01", "--accumulate", "2", "--clip-norm", "0.3"], 2,
     lambda m: torch.optim.AdamW(m.parameters(), lr=0.01), dict(accumulate=2, clip_norm=0.3)),
    ("grad-centralization", ["--optimizer", "adamw", "--lr", "0.01", "--grad-centralization"], 2,
     lambda m: torch.optim.AdamW(m.parameters(), lr=0.01), dict(centralize=True)),
    ("swa", ["--optimizer", "sgd", "--lr", "0.05", "--swa-start", "2", "--swa-lr", "0.02", "--swa-anneal-epochs", "1"], 4,
     lambda m: torch.optim.SGD(m.parameters(), lr=0.05), dict(swa=(2, 0.02, 1))),
]


def layer_scale(state, key):
    prefix = key.rsplit(".", 1)[0] + "."
    return max(float(np.abs(v).max()) for k, v in state.items() if k.startswith(prefix) and k.count(".") == key.count("."))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((SAMPLES, 1, 6, 6)).astype(np.float32)
    t = rng.integers(0, 5, SAMPLES).astype(np.int64)
    data = os.path.join(a.work, "data.npz")
    np.savez(data, x=x, target=t)
    model_path = os.path.join(a.work, "cnn.onnx")
    torch.onnx.export(make_model().eval(), (torch.zeros(1, 1, 6, 6),), model_path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, opset_version=17, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE)
    failed = 0
    for name, opts, epochs, make_opt, kwargs in CASES:
        out = os.path.join(a.work, f"{name}.onnx")
        p = subprocess.run([a.dlc, "train", model_path, "--data", data, "-o", out, "--epochs", str(epochs), "--batch", str(BATCH),
                            "--no-shuffle", "--target", "reference", *opts], capture_output=True, text=True)
        if p.returncode != 0:
            print(f"FAIL {name}: dlc train failed: {p.stderr.strip()}")
            failed += 1
            continue
        got = {i.name: numpy_helper.to_array(i) for i in onnx.load(out).graph.initializer}
        model = make_model()
        want = {k: v.numpy() for k, v in torch_train(model, x, t, epochs, make_opt(model), **kwargs).items()
                if not k.endswith("num_batches_tracked")}
        worst, where = 0.0, ""
        for key, w in want.items():
            if key not in got:
                worst, where = float("inf"), f"dlc's model has no '{key}'"
                break
            err = float(np.abs(got[key] - w).max()) / (1e-4 * max(layer_scale(want, key), 1e-12))
            if err > worst:
                worst, where = err, key
        ok = worst <= 1.0
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {len(want)} tensors, worst error {worst:.3f} of the bound ({where})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
