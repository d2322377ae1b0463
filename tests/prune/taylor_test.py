#!/usr/bin/python3
"""`dlc prune --method channel --criterion taylor` against the criterion computed in PyTorch.

A small CNN (Conv-BN-ReLU twice, a residual sum, global pooling, Linear) in inference mode, with
random calibration images and labels. PyTorch computes Molchanov et al.'s (2019) importance: per
batch, the cross-entropy's gradients; per channel of a group, (sum of g·w over every parameter the
group removes with the channel: the producing Conv's weight rows and bias, the BatchNorm's scale
and shift, the consuming layers' input weights)², averaged over the batches. The channels dlc
keeps must be PyTorch's highest-ranked ones, group by group (the residual group joins both
branches' producers). Then the option checks: taylor needs --calibrate, --calibrate needs taylor,
a calibration file the model cannot read is a one-line error.

usage: taylor_test.py --dlc DLC --work DIR
"""
import argparse
import json
import os
import sys

import numpy as np

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    sys.exit(f"taylor_test.py: error: {e} (run with /usr/bin/python3)")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "common"))
from dlc_checks import check, dlc_tool, finish, run  # noqa: E402


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.c2, self.b2 = nn.Conv2d(16, 24, 3, padding=1), nn.BatchNorm2d(24)
        self.c3, self.b3 = nn.Conv2d(24, 24, 3, padding=1), nn.BatchNorm2d(24)
        self.fc = nn.Linear(24, 5)

    def forward(self, x):
        a = F.relu(self.b1(self.c1(x)))
        b = F.relu(self.b2(self.c2(a)))
        c = F.relu(self.b3(self.c3(b)) + b)  # residual: c2's and c3's output channels are one group
        return self.fc(c.mean((2, 3)))


def torch_importance(net, x, y, batch):
    """Per group: the Taylor importance of each channel (PyTorch's autograd)."""
    groups = {  # group -> [(parameter, channel axis)]
        "c1": [(net.c1.weight, 0), (net.c1.bias, 0), (net.b1.weight, 0), (net.b1.bias, 0), (net.c2.weight, 1)],
        "c2": [(net.c2.weight, 0), (net.c2.bias, 0), (net.b2.weight, 0), (net.b2.bias, 0), (net.c3.weight, 1),
               (net.c3.weight, 0), (net.c3.bias, 0), (net.b3.weight, 0), (net.b3.bias, 0), (net.fc.weight, 1)],
    }
    score = {k: 0.0 for k in groups}
    n = x.shape[0] // batch
    for i in range(n):
        net.zero_grad()
        F.cross_entropy(net(x[i * batch:(i + 1) * batch]), y[i * batch:(i + 1) * batch]).backward()
        for k, params in groups.items():
            s = 0.0
            for p, axis in params:
                gw = (p.grad * p).detach()
                s = s + gw.movedim(axis, 0).reshape(gw.shape[axis], -1).sum(1)
            score[k] = score[k] + s.double() ** 2
    return {k: (v / n).numpy() for k, v in score.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    torch.manual_seed(0)
    net = Net()
    with torch.no_grad():  # BatchNorm statistics and scales that are not the defaults
        for bn in (net.b1, net.b2, net.b3):
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 1.5)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    net.eval()
    model = os.path.join(a.work, "net.onnx")
    torch.onnx.export(net, (torch.zeros(1, 3, 8, 8),), model, input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}}, opset_version=17,
                      do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3, 8, 8)).astype(np.float32)
    y = rng.integers(0, 5, 64).astype(np.int64)
    calib = os.path.join(a.work, "calib.npz")
    np.savez(calib, x=x, target=y)
    want = torch_importance(net, torch.from_numpy(x), torch.from_numpy(y), batch=16)

    out, report = os.path.join(a.work, "pruned.onnx"), os.path.join(a.work, "report.json")
    p = dlc_tool(a.dlc, "prune", model, out, "--method", "channel", "--criterion", "taylor", "--calibrate", calib, "--batch", "16",
                 "--sparsity", "0.5", "--min-channels", "1", "--report", report, "--target", "reference")
    print(p.stderr.strip())
    check("gradients of 4 calibration batches" in p.stderr, "the gradients of 4 batches of 16")
    rep = json.load(open(report))
    for name, score in want.items():
        g = [g for g in rep["groups"] if any(f"{name}/Conv" in q for q in g["producers"])]
        if not g:
            check(False, f"group of {name}: not in the report {[g['producers'] for g in rep['groups']]}")
            continue
        kept = sorted(g[0]["kept_channels"])
        expect = sorted(np.argsort(-score, kind="stable")[:len(kept)].tolist())
        margin = np.sort(score)[::-1]
        check(kept == expect and len(kept) == len(score) // 2,
              f"group of {name} ({len(score)} channels): dlc keeps PyTorch's top {len(kept)} by Taylor importance "
              f"(importance of the last kept / first dropped: {margin[len(kept) - 1]:.3g} / {margin[len(kept)]:.3g})")
    l1 = os.path.join(a.work, "l1.json")
    dlc_tool(a.dlc, "prune", model, os.path.join(a.work, "l1.onnx"), "--method", "channel", "--sparsity", "0.5", "--min-channels", "1",
             "--report", l1)
    differs = any(sorted(g["kept_channels"]) != sorted(h["kept_channels"]) for g, h in zip(rep["groups"], json.load(open(l1))["groups"]))
    check(differs, "and the Taylor ranking is not the L1 one (it keeps other channels)")

    bad = os.path.join(a.work, "bad.npz")
    np.savez(bad, x=x[:, :2], target=y)
    for opts, expect in [(["--criterion", "taylor"], "give --calibrate"),
                         (["--calibrate", calib], "--calibrate feeds --criterion taylor"),
                         (["--criterion", "taylor", "--calibrate", bad], "bad.npz"),
                         (["--criterion", "taylor", "--calibrate", calib, "--epochs", "2"], "is a fine-tuning option")]:
        q = run([a.dlc, "prune", model, "-o", os.path.join(a.work, "bad.onnx"), "--method", "channel", *opts])
        lines = q.stderr.strip().splitlines()
        ok = q.returncode != 0 and len(lines) == 1 and expect in lines[0] and not os.path.exists(os.path.join(a.work, "bad.onnx"))
        check(ok, f"{' '.join(opts[:2])}: a one-line error ({lines[-1] if lines else '(no message)'})")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
