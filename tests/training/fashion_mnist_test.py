#!/usr/bin/python3
"""Fashion-MNIST: `dlc train` against PyTorch on the same untrained CNN, optimizer, batch and epochs.

A 2-conv CNN is built by PyTorch (torch.manual_seed(0)) and exported untrained to ONNX. dlc trains
it (AdamW, lr 1e-3, batch 64, 2 epochs) and PyTorch trains the same initial weights the same way
(shuffled batches, the last incomplete one dropped, as dlc does). Required: dlc's test accuracy on
the 10,000 test images >= 89% and within 1 point of PyTorch's; with --ort, the trained model that
dlc exported gives the same accuracy under ONNX Runtime (within 0.05 points: 5 images whose top
two scores are within float rounding).

usage: fashion_mnist_test.py --dlc DLC --work DIR [--epochs 2] [--target onednn] [--ort-cache DIR]
"""
import argparse
import csv
import os
import subprocess
import sys
import time

import numpy as np

try:
    import torch
    import torch.nn as nn
except ImportError as e:
    sys.exit(f"fashion_mnist_test.py: error: {e} (run with /usr/bin/python3)")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "models"))


def cnn():
    """Two 3x3 convolutions with BatchNorm (trained in training mode), max pools, two linear layers."""
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def torch_accuracy(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += int((model(torch.from_numpy(x[i:i + 1000])).argmax(1).numpy() == y[i:i + 1000]).sum())
    return 100.0 * correct / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--target", default="onednn")
    ap.add_argument("--ort-cache", help="also run the trained model on ONNX Runtime, installed (npm) into this folder")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    data = os.path.join(a.work, "data")
    subprocess.run([sys.executable, os.path.join(HERE, "fashion_mnist.py"), data], check=True)
    train, test = np.load(os.path.join(data, "train.npz")), np.load(os.path.join(data, "test.npz"))
    xtr, ytr, xte, yte = train["image"], train["target"], test["image"], test["target"]

    torch.manual_seed(0)
    model = cnn()
    model.eval()
    onnx_path = os.path.join(a.work, "cnn.onnx")
    torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), onnx_path, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, opset_version=17,
                      do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)

    trained = os.path.join(a.work, "trained.onnx")
    log = os.path.join(a.work, "log.csv")
    start = time.time()
    p = subprocess.run([a.dlc, "train", onnx_path, "--data", os.path.join(data, "train.npz"), "--val",
                        os.path.join(data, "test.npz"), "-o", trained, "--optimizer", "adamw", "--lr", "1e-3", "--batch", "64",
                        "--epochs", str(a.epochs), "--seed", "0", "--target", a.target, "--log", log],
                       capture_output=True, text=True)
    dlc_seconds = time.time() - start
    print(p.stdout.strip())
    if p.returncode != 0:
        sys.exit(f"dlc train failed: {p.stderr.strip()}")
    with open(log) as f:
        rows = list(csv.DictReader(f))
    dlc_acc = float(rows[-1]["val_accuracy"])

    start = time.time()
    g = torch.Generator().manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(xtr), torch.from_numpy(ytr)),
                                         batch_size=64, shuffle=True, drop_last=True, generator=g)
    for _ in range(a.epochs):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
    torch_seconds = time.time() - start
    torch_acc = torch_accuracy(model, xte, yte)
    print(f"test accuracy after {a.epochs} epochs: dlc {dlc_acc:.2f}% ({dlc_seconds:.0f} s with --target {a.target}), "
          f"PyTorch {torch_acc:.2f}% ({torch_seconds:.0f} s)")
    ok = dlc_acc >= 89.0 and abs(dlc_acc - torch_acc) <= 1.0
    if a.ort_cache:
        import check_export_ort  # tests/models: ONNX Runtime through node
        ort_dir = check_export_ort.install_ort(a.ort_cache)
        outs, _ = check_export_ort.run_ort(ort_dir, trained, [xte], os.path.join(a.work, "ort"))
        ort_acc = 100.0 * float((outs[0].argmax(1) == yte).mean())
        print(f"ONNX Runtime on dlc's trained model: {ort_acc:.2f}%")
        ok = ok and abs(ort_acc - dlc_acc) <= 0.05
    print("ok" if ok else "FAIL: dlc's accuracy must be >= 89% and within 1 point of PyTorch's (and ONNX Runtime's = dlc's)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
