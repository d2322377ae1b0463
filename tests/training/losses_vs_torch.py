#!/usr/bin/python3
"""dlc train's losses against torch.nn.functional: value and gradient.

Each case trains a one-parameter model y = x * w (w starts at ones plus a little noise) for one
SGD step with lr 1 on one batch: the loss dlc logs for that step must equal PyTorch's loss of the
same y within 1e-5 (relative), and the step (w' = w - dL/dw) must give PyTorch's gradient within
1e-4 * max|grad|. Losses with several model outputs (contrastive, triplet) scale each input by its
own parameter. Covers every loss with its options: reductions, class weights, label smoothing,
ignore_index, a class axis other than 1, Huber's delta, BCE's pos_weight, KL's log target and
batchmean, focal's alpha and gamma, dice's smoothing term, margins. Distillation (--teacher) cases
add a teacher y = x * v (another Scale) whose logits dlc computes itself: the loss must be PyTorch's
(1 - W)·task + W·T²·KL(softmax(teacher/T) || softmax(y/T)); a teacher whose output does not fit the
student must be a one-line error.

usage: losses_vs_torch.py --dlc DLC --work DIR
"""
import argparse
import csv
import os
import subprocess
import sys

import numpy as np

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torchvision
except ImportError as e:
    sys.exit(f"losses_vs_torch.py: error: {e} (run with /usr/bin/python3)")


class Scale(nn.Module):
    def __init__(self, shapes, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w = nn.ParameterList(nn.Parameter(1 + 0.1 * torch.randn(s, generator=g)) for s in shapes)

    def forward(self, *xs):
        out = tuple(x * w for x, w in zip(xs, self.w))
        return out if len(out) > 1 else out[0]


rng = np.random.default_rng(0)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def probs(*shape, axis=1):
    e = np.exp(f32(*shape))
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)


def classes(n, *shape):
    return rng.integers(0, n, shape).astype(np.int64)


def with_ignored(t, ignore):
    t = t.copy()
    t.flat[::3] = ignore
    return t


T = torch.tensor
# name, dlc options, inputs (list of arrays), target (or None), torch loss of (outputs, target)
CASES = [
    ("cross-entropy", [], [f32(6, 5)], classes(5, 6), lambda y, t: F.cross_entropy(y, t)),
    ("cross-entropy", ["--reduction", "sum", "--class-weights", "1,2,0.5,1.5,1"], [f32(6, 5)], classes(5, 6),
     lambda y, t: F.cross_entropy(y, t, weight=T([1, 2, 0.5, 1.5, 1.0]), reduction="sum")),
    ("cross-entropy", ["--label-smoothing", "0.2", "--class-weights", "1,2,0.5,1.5,1"], [f32(6, 5)], classes(5, 6),
     lambda y, t: F.cross_entropy(y, t, weight=T([1, 2, 0.5, 1.5, 1.0]), label_smoothing=0.2)),
    ("cross-entropy", ["--label-smoothing", "0.1", "--ignore-index", "2"], [f32(4, 3, 5)], with_ignored(classes(3, 4, 5), 2),
     lambda y, t: F.cross_entropy(y, t, ignore_index=2, label_smoothing=0.1)),
    ("cross-entropy", ["--class-axis", "-1"], [f32(3, 4, 6)], classes(6, 3, 4),
     lambda y, t: F.cross_entropy(y.movedim(-1, 1), t)),
    ("nll", ["--class-weights", "0.5,1,2", "--ignore-index", "1"], [f32(7, 3)], with_ignored(classes(3, 7), 1),
     lambda y, t: F.nll_loss(y, t, weight=T([0.5, 1, 2.0]), ignore_index=1)),
    ("mse", [], [f32(4, 6)], f32(4, 6), lambda y, t: F.mse_loss(y, t)),
    ("mse", ["--reduction", "sum"], [f32(4, 6)], f32(4, 6), lambda y, t: F.mse_loss(y, t, reduction="sum")),
    ("l1", [], [f32(4, 6)], f32(4, 6), lambda y, t: F.l1_loss(y, t)),
    ("huber", ["--delta", "0.7"], [f32(5, 6)], f32(5, 6), lambda y, t: F.huber_loss(y, t, delta=0.7)),
    ("smooth-l1", ["--delta", "0.5"], [f32(5, 6)], f32(5, 6), lambda y, t: F.smooth_l1_loss(y, t, beta=0.5)),
    ("bce-with-logits", [], [f32(5, 4)], (f32(5, 4) > 0).astype(np.float32),
     lambda y, t: F.binary_cross_entropy_with_logits(y, t)),
    ("bce-with-logits", ["--pos-weight", "3"], [f32(5, 4)], (f32(5, 4) > 0).astype(np.float32),
     lambda y, t: F.binary_cross_entropy_with_logits(y, t, pos_weight=T(3.0))),
    ("kl-div", [], [np.log(probs(4, 5))], probs(4, 5), lambda y, t: F.kl_div(y, t, reduction="mean")),
    ("kl-div", ["--reduction", "batchmean", "--log-target"], [np.log(probs(4, 5))], np.log(probs(4, 5)),
     lambda y, t: F.kl_div(y, t, reduction="batchmean", log_target=True)),
    ("focal", [], [f32(6, 3)], (f32(6, 3) > 0).astype(np.float32),
     lambda y, t: torchvision.ops.sigmoid_focal_loss(y, t, alpha=0.25, gamma=2.0, reduction="mean")),
    ("focal", ["--focal-alpha", "0.6", "--focal-gamma", "1.5", "--reduction", "sum"], [f32(6, 3)],
     (f32(6, 3) > 0).astype(np.float32), lambda y, t: torchvision.ops.sigmoid_focal_loss(y, t, alpha=0.6, gamma=1.5, reduction="sum")),
    # Dice over all elements of σ(x): 1 − (2Σσt + s) / (Σσ + Σt + s).
    ("dice", [], [f32(4, 6)], (f32(4, 6) > 0).astype(np.float32),
     lambda y, t: 1 - (2 * (torch.sigmoid(y) * t).sum() + 1) / (torch.sigmoid(y).sum() + t.sum() + 1)),
    # Contrastive (Hadsell et al. 2006), y = 1 for similar pairs: ½[y·d² + (1 − y)·max(0, m − d)²].
    ("contrastive", ["--margin", "2"], [f32(6, 4), f32(6, 4)], (f32(6) > 0).astype(np.float32),
     lambda ys, t: (0.5 * (t * F.pairwise_distance(*ys) ** 2 + (1 - t) * F.relu(2 - F.pairwise_distance(*ys)) ** 2)).mean()),
    ("triplet", ["--margin", "0.5"], [f32(5, 4), f32(5, 4), f32(5, 4)], None,
     lambda ys, t: F.triplet_margin_loss(*ys, margin=0.5)),
]


def distilled(task, w, temp, axis=1):
    """Hinton et al.'s loss as knowledge-distillation code writes it in PyTorch."""
    def fn(y, t, z):
        kl = F.kl_div(F.log_softmax(y / temp, dim=axis), F.softmax(z / temp, dim=axis), reduction="none").sum(axis)
        return (1 - w) * task(y, t) + w * temp * temp * kl.mean()
    return fn


# name, dlc options, inputs, target, loss of (outputs, target, teacher outputs)
DISTILL_CASES = [
    ("cross-entropy", [], [f32(6, 5)], classes(5, 6), distilled(lambda y, t: F.cross_entropy(y, t), 0.5, 4.0)),
    ("cross-entropy", ["--distill-weight", "0.3", "--temperature", "2", "--label-smoothing", "0.1"], [f32(6, 5)], classes(5, 6),
     distilled(lambda y, t: F.cross_entropy(y, t, label_smoothing=0.1), 0.3, 2.0)),
    ("cross-entropy", ["--class-axis", "-1", "--distill-weight", "1", "--temperature", "1"], [f32(3, 4, 6)], classes(6, 3, 4),
     distilled(lambda y, t: F.cross_entropy(y.movedim(-1, 1), t), 1.0, 1.0, axis=-1)),
    ("mse", ["--distill-weight", "0.25", "--temperature", "3"], [f32(4, 6)], f32(4, 6),
     distilled(lambda y, t: F.mse_loss(y, t), 0.25, 3.0)),
]


def export_scale(model, xs, path):
    names = [f"x{i}" for i in range(len(xs))]
    torch.onnx.export(model.eval(), tuple(torch.from_numpy(x) for x in xs), path, input_names=names,
                      output_names=[f"y{i}" for i in range(len(xs))], opset_version=17, do_constant_folding=False)
    return names


def run_case(dlc, work, index, loss, opts, xs, target, torch_loss, distill=False):
    folder = os.path.join(work, f"{index}_{loss}")
    os.makedirs(folder, exist_ok=True)
    model = Scale([x.shape[1:] for x in xs])
    onnx_path = os.path.join(folder, "model.onnx")
    names = export_scale(model, xs, onnx_path)
    teacher = None
    if distill:
        teacher = Scale([x.shape[1:] for x in xs], seed=1)
        with torch.no_grad():
            for v in teacher.w:
                v.mul_(2.0)  # sharper than the student, so the soft term matters
        opts = [*opts, "--teacher", os.path.join(folder, "teacher.onnx")]
        export_scale(teacher, xs, opts[-1])
    arrays = dict(zip(names, xs))
    if target is not None:
        arrays["target"] = target
    np.savez(os.path.join(folder, "data.npz"), **arrays)
    ckpt, log = os.path.join(folder, "ckpt"), os.path.join(folder, "log.csv")
    p = subprocess.run([dlc, "train", onnx_path, "--data", os.path.join(folder, "data.npz"), "-o", os.path.join(folder, "t.dlcir"),
                        "--optimizer", "sgd", "--lr", "1", "--steps", "1", "--batch", str(xs[0].shape[0]), "--no-shuffle",
                        "--loss", loss, *opts, "--checkpoint", ckpt, "--log", log, "--target", "reference"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return False, p.stderr.strip()
    dlc_loss = float(list(csv.DictReader(open(log)))[0]["train_loss"])
    state = np.load(os.path.join(ckpt, "checkpoint.npz"))
    ys = model(*[torch.from_numpy(x) for x in xs])
    t = torch.from_numpy(target) if target is not None else None
    want = torch_loss(ys, t, teacher(*[torch.from_numpy(x) for x in xs]).detach()) if teacher else torch_loss(ys, t)
    want.backward()
    want = float(want)
    if abs(dlc_loss - want) > 1e-5 * max(abs(want), 1e-3):
        return False, f"loss {dlc_loss:.9g}, PyTorch {want:.9g}"
    worst = 0.0
    for i, w in enumerate(model.w):
        name = f"w.{i}"
        if name not in state:
            return False, f"no state '{name}' (has {list(state.keys())})"
        got = w.detach().numpy() - state[name]  # lr 1: the step is the gradient
        g = w.grad.numpy()
        worst = max(worst, float(np.abs(got - g).max()) / (1e-4 * max(float(np.abs(g).max()), 1e-6)))
    return worst <= 1.0, f"loss {dlc_loss:.7g} = PyTorch {want:.7g}; gradient error {worst:.3f} of the bound"


def check_bad_teacher(dlc, folder):
    os.makedirs(folder, exist_ok=True)
    x = f32(6, 5)
    export_scale(Scale([(5,)]), [x], os.path.join(folder, "model.onnx"))
    torch.onnx.export(nn.Linear(5, 4).eval(), (torch.from_numpy(x),), os.path.join(folder, "teacher.onnx"), input_names=["x0"],
                      opset_version=17)
    np.savez(os.path.join(folder, "data.npz"), x0=x, target=classes(5, 6))
    out = os.path.join(folder, "t.onnx")
    p = subprocess.run([dlc, "train", os.path.join(folder, "model.onnx"), "--data", os.path.join(folder, "data.npz"), "-o", out,
                        "--teacher", os.path.join(folder, "teacher.onnx"), "--target", "reference"], capture_output=True, text=True)
    lines = p.stderr.strip().splitlines()
    ok = p.returncode != 0 and len(lines) == 1 and "teacher" in lines[0] and "does not fit" in lines[0] and not os.path.exists(out)
    return ok, lines[-1] if lines else "(no message)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    failed = 0
    cases = [(c, False) for c in CASES] + [(c, True) for c in DISTILL_CASES]
    for i, ((loss, opts, xs, target, fn), distill) in enumerate(cases):
        ok, detail = run_case(a.dlc, a.work, i, loss, opts, xs, target, fn, distill)
        print(f"{'ok  ' if ok else 'FAIL'} {loss} {' '.join(opts)}{' (distilled)' if distill else ''}: {detail}")
        failed += not ok
    ok, detail = check_bad_teacher(a.dlc, os.path.join(a.work, "bad_teacher"))
    print(f"{'ok  ' if ok else 'FAIL'} a teacher with 4 classes for a 5-class student: {detail}")
    failed += not ok
    total = len(cases) + 1
    print(f"{failed} of {total} failed" if failed else f"all {total} passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
