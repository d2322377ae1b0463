#!/usr/bin/python3
"""`dlc prune --finetune` on Debian's Fashion-MNIST: prune, fine-tune one epoch, measure.

The CNN of tests/training (two convolutions with BatchNorm, two Linear layers) is trained for one
epoch by `dlc train`, and the baseline is that model trained one epoch more (as long as a pruned
and fine-tuned one is trained in all); then
- `--method channel --target-flops 0.5 --finetune`: half the FLOPs (counted here from the file's
  shapes), fine-tuned one epoch; the 10,000-image test accuracy must stay within 1.5 points of the
  unpruned model's;
- the same with `--teacher` (the baseline) distils while fine-tuning, within 1.5 points too;
- `--method n:m --finetune`: every group of 4 weights along the reduction axis still holds at
  least 2 zeros after fine-tuning, the very zeros pruning chose (the masks held), and the
  accuracy stays within 1 point;
- `--method magnitude --iterative 2 --rewind 1` (the lottery ticket) reaches exactly 80% zeros
  with a line per round, and keeps the accuracy within 2 points;
- accuracies are computed here from `dlc run`'s logits on the test images, and the pruned models'
  accuracies before fine-tuning are printed for comparison.

usage: finetune_test.py --dlc DLC --work DIR
"""
import argparse
import os
import subprocess
import sys

import numpy as np

try:
    import onnx
    import onnx.numpy_helper
    import torch
except ImportError as e:
    sys.exit(f"finetune_test.py: error: {e} (run with /usr/bin/python3)")

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "common"))
sys.path.insert(0, os.path.join(TESTS, "training"))
sys.path.insert(0, HERE)
from dlc_checks import check, dlc_outputs, dlc_tool, finish  # noqa: E402
from fashion_mnist_test import cnn  # noqa: E402
from channel_test import count_flops  # noqa: E402


def accuracy(dlc, model, x, y, work):
    logits = dlc_outputs(dlc, model, x, work, "--target", "onednn")
    return 100.0 * float((logits.argmax(1) == y).mean())


def weights(path):
    m = onnx.load(path)
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    return {n.name: inits[n.input[1]] for n in m.graph.node if n.op_type in ("Conv", "Gemm") and n.input[1] in inits}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    data = os.path.join(a.work, "data")
    subprocess.run([sys.executable, os.path.join(TESTS, "training", "fashion_mnist.py"), data], check=True)
    train_npz, test_npz = os.path.join(data, "train.npz"), os.path.join(data, "test.npz")
    test = np.load(test_npz)
    xte, yte = test["image"], test["target"]

    torch.manual_seed(0)
    model = cnn().eval()
    untrained = os.path.join(a.work, "cnn.onnx")
    torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), untrained, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, opset_version=17,
                      do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    dense = os.path.join(a.work, "dense.onnx")
    train = ["--optimizer", "adamw", "--lr", "1e-3", "--batch", "64", "--epochs", "1", "--seed", "0"]
    dlc_tool(a.dlc, "train", untrained, dense, "--data", train_npz, *train)
    # The baseline trains as long as a pruned model does in all (one epoch, then one fine-tuning).
    dense2 = os.path.join(a.work, "dense_2_epochs.onnx")
    dlc_tool(a.dlc, "train", dense, dense2, "--data", train_npz, *train)
    base = accuracy(a.dlc, dense2, xte, yte, os.path.join(a.work, "acc_dense"))
    print(f"unpruned, trained 1 epoch: {accuracy(a.dlc, dense, xte, yte, os.path.join(a.work, 'acc_dense1')):.2f}%, "
          f"2 epochs: {base:.2f}% (the baseline)")

    # Channel pruning to half the FLOPs.
    plain = os.path.join(a.work, "channel.onnx")
    dlc_tool(a.dlc, "prune", dense, plain, "--method", "channel", "--target-flops", "0.5")
    tuned = os.path.join(a.work, "channel_finetuned.onnx")
    p = dlc_tool(a.dlc, "prune", dense, tuned, "--method", "channel", "--target-flops", "0.5", "--finetune", train_npz, *train)
    print(p.stderr.strip())
    ratio = count_flops(tuned) / count_flops(dense)
    check(ratio <= 0.5, f"channel: {ratio:.3f} of the FLOPs left (counted from the files)")
    before, after = (accuracy(a.dlc, m, xte, yte, os.path.join(a.work, f"acc_{t}")) for m, t in ((plain, "channel"), (tuned, "channel_ft")))
    print(f"channel-pruned to half the FLOPs: {before:.2f}% before fine-tuning, {after:.2f}% after one epoch")
    check(base - after <= 1.5, f"channel, fine-tuned: {after:.2f}% against {base:.2f}% unpruned (within 1.5 points)")
    # The same fine-tuning distilled from the unpruned baseline (Hinton et al.'s loss, T = 4).
    distilled = os.path.join(a.work, "channel_distilled.onnx")
    p = dlc_tool(a.dlc, "prune", dense, distilled, "--method", "channel", "--target-flops", "0.5", "--finetune", train_npz, *train,
                 "--teacher", dense2, "--distill-weight", "0.5", "--temperature", "4")
    print(p.stderr.strip())
    check("teacher" in p.stderr and "logits of 60000 samples" in p.stderr, "distillation: the teacher's logits computed once")
    kd = accuracy(a.dlc, distilled, xte, yte, os.path.join(a.work, "acc_channel_kd"))
    print(f"channel-pruned, fine-tuned one epoch with distillation from the baseline: {kd:.2f}% (without: {after:.2f}%)")
    check(base - kd <= 1.5, f"channel, fine-tuned with distillation: {kd:.2f}% against {base:.2f}% unpruned (within 1.5 points)")

    # The Taylor criterion (gradients on 2,048 training images) against L1, before fine-tuning.
    calib = os.path.join(a.work, "calib.npz")
    train_arrays = np.load(train_npz)
    np.savez(calib, image=train_arrays["image"][:2048], target=train_arrays["target"][:2048])
    taylor = os.path.join(a.work, "channel_taylor.onnx")
    p = dlc_tool(a.dlc, "prune", dense, taylor, "--method", "channel", "--target-flops", "0.5", "--criterion", "taylor",
                 "--calibrate", calib, "--batch", "64")
    print(p.stderr.strip())
    check(count_flops(taylor) / count_flops(dense) <= 0.5, "taylor: at most half the FLOPs")
    print(f"channel-pruned to half the FLOPs by the Taylor criterion: {accuracy(a.dlc, taylor, xte, yte, os.path.join(a.work, 'acc_taylor')):.2f}% "
          f"before fine-tuning (L1: {before:.2f}%)")

    # 2:4 with the mask held through fine-tuning.
    plain = os.path.join(a.work, "nm.onnx")
    dlc_tool(a.dlc, "prune", dense, plain, "--method", "n:m", "--pattern", "2:4")
    tuned = os.path.join(a.work, "nm_finetuned.onnx")
    p = dlc_tool(a.dlc, "prune", dense, tuned, "--method", "n:m", "--pattern", "2:4", "--finetune", train_npz, *train)
    print(p.stderr.strip())
    w_plain, w_tuned = weights(plain), weights(tuned)
    same_zeros = all(np.array_equal(w_plain[n] == 0, w_tuned[n] == 0) for n in w_plain)
    changed = any(not np.array_equal(w_plain[n], w_tuned[n]) for n in w_plain)
    check(same_zeros and changed, "2:4: fine-tuning changed the weights and kept exactly the pruned zeros")
    ok = True
    for name, w in w_tuned.items():
        rows = w.reshape(w.shape[0], -1) if w.ndim == 4 else (w if w.shape[1] % 4 == 0 else w.T)
        if rows.shape[1] % 4 == 0:
            ok &= bool(((rows.reshape(rows.shape[0], -1, 4) == 0).sum(axis=2) >= 2).all())
    check(ok, "2:4: every group of 4 along each layer's reduction axis has at least 2 zeros after fine-tuning")
    before, after = (accuracy(a.dlc, m, xte, yte, os.path.join(a.work, f"acc_{t}")) for m, t in ((plain, "nm"), (tuned, "nm_ft")))
    print(f"2:4-pruned: {before:.2f}% before fine-tuning, {after:.2f}% after one epoch")
    check(base - after <= 1.0, f"2:4, fine-tuned: {after:.2f}% against {base:.2f}% unpruned (within 1 point)")

    # The lottery ticket: 2 rounds to 80% (global), rewinding to the weights after 1 epoch.
    ticket = os.path.join(a.work, "ticket.onnx")
    report = os.path.join(a.work, "ticket.json")
    p = dlc_tool(a.dlc, "prune", dense, ticket, "--method", "magnitude", "--scope", "global", "--sparsity", "0.8",
                 "--iterative", "2", "--rewind", "1", "--finetune", train_npz, "--val", test_npz, "--report", report, *train)
    print(p.stderr.strip())
    rounds = [line for line in p.stderr.splitlines() if "round " in line]
    check(len(rounds) == 2 and "round 1 of 2" in rounds[0] and "validation accuracy" in rounds[1],
          f"lottery ticket: a line per round, with the validation accuracy: {rounds}")
    import json
    rep = json.load(open(report))
    w = weights(ticket)
    zeros = sum(int((v == 0).sum()) for v in w.values())
    total = sum(v.size for v in w.values())
    check(rep["zeros"] == int(0.8 * rep["weights"]) and zeros >= rep["zeros"] and total == rep["weights"],
          f"lottery ticket: {zeros} of {total} weights zero in the file, the report's {rep['zeros']} = floor(0.8 x {rep['weights']})")
    acc = accuracy(a.dlc, ticket, xte, yte, os.path.join(a.work, "acc_ticket"))
    print(f"lottery ticket, 80% of the weights pruned in 2 rounds (rewind to epoch 1): {acc:.2f}%")
    check(base - acc <= 2.0, f"lottery ticket at 80%: {acc:.2f}% against {base:.2f}% unpruned (within 2 points)")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
