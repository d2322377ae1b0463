#!/usr/bin/python3
"""dlc from Python, end to end: load resnet18's ONNX and run it on a NumPy batch (checked against
PyTorch), quantize it to int8 with a calibration array, build the Fashion-MNIST CNN with dlc.nn,
train it for an epoch on Debian's dataset-fashion-mnist, and export the trained model to ONNX.

usage: quickstart.py [--work DIR] [--resnet18 MODEL.onnx] [--train-samples N]

Without --resnet18, torchvision's resnet18 (random weights) is exported to DIR first. Prints a
line per step; exits non-zero with dlc's message if a step fails.
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np

import dlc


def export_resnet18(path):
    import torch
    import torchvision
    torch.manual_seed(0)
    net = torchvision.models.resnet18().eval()
    torch.onnx.export(net, torch.randn(1, 3, 224, 224), path, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, opset_version=17)
    return net


def fashion_mnist(root="/usr/share/datasets/fashion-mnist"):
    def idx(name):
        with gzip.open(os.path.join(root, name), "rb") as f:
            data = f.read()
        shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(data[3])]
        return np.frombuffer(data, np.uint8, offset=4 + 4 * data[3]).reshape(shape)

    def images(name):  # standardized with the training set's pixel mean and deviation
        return ((idx(name).astype(np.float32) / 255.0 - 0.2860) / 0.3530).reshape(-1, 1, 28, 28)
    return (images("train-images-idx3-ubyte.gz"), idx("train-labels-idx1-ubyte.gz").astype(np.int64),
            images("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))


def fashion_cnn():
    """Two 3x3 convolutions with BatchNorm, max pools and two linear layers, in dlc.nn."""
    nn = dlc.nn
    m = nn.Model("fashion_cnn", seed=0)
    x = m.input("image", ["N", 1, 28, 28])
    h = nn.max_pool2d(nn.relu(nn.BatchNorm2d(m, "bn1", 32)(nn.Conv2d(m, "conv1", 1, 32, 3, pad=1)(x))), 2, 2)
    h = nn.max_pool2d(nn.relu(nn.BatchNorm2d(m, "bn2", 64)(nn.Conv2d(m, "conv2", 32, 64, 3, pad=1)(h))), 2, 2)
    h = nn.relu(nn.Linear(m, "fc1", 64 * 7 * 7, 128)(nn.flatten(h)))
    m.output(nn.Linear(m, "fc2", 128, 10)(h), "logits")
    return m.finish()


def accuracy(model, x, y, target):
    art = model.compile(target, input_shapes={"image": (500, 1, 28, 28)})
    session = art.session()
    correct = 0
    for i in range(0, len(x) - len(x) % 500, 500):
        correct += int(np.sum(session.run({"image": x[i:i + 500]})["logits"].argmax(1) == y[i:i + 500]))
    return 100.0 * correct / (len(x) - len(x) % 500)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="quickstart-out")
    ap.add_argument("--resnet18", help="resnet18 ONNX with input 'image' (default: export torchvision's)")
    ap.add_argument("--train-samples", type=int, default=60000, help="Fashion-MNIST training images (an epoch of them)")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)

    # 1. resnet18 on a NumPy batch, against PyTorch when this script exported it.
    path, net = a.resnet18, None
    if path is None:
        path = os.path.join(a.work, "resnet18.onnx")
        net = export_resnet18(path)
    model = dlc.load(path)
    batch = np.random.default_rng(0).standard_normal((4, 3, 224, 224)).astype(np.float32)
    name = model.inputs[0].name
    t0 = time.time()
    logits = model.run({name: batch}, target="onednn")[model.outputs[0].name]
    line = f"resnet18: {model.num_ops} ops, batch {batch.shape} -> {logits.shape} in {time.time() - t0:.1f} s (compile + run)"
    if net is not None:
        import torch
        with torch.no_grad():
            want = net(torch.from_numpy(batch)).numpy()
        err = float(np.max(np.abs(logits - want)) / np.max(np.abs(want)))
        line += f", max|dlc - torch| = {err:.1e} x max|torch|"
        if err > 1e-3:
            sys.exit(f"quickstart: resnet18 differs from PyTorch by {err:.1e} x max|out|")
    print(line, flush=True)

    # 2. int8 quantization with a calibration array.
    calib = np.random.default_rng(1).standard_normal((16, 3, 224, 224)).astype(np.float32)
    q = dlc.quantize(model, os.path.join(a.work, "resnet18_int8.onnx"), calibrate={name: calib}, per_channel=True)
    q_logits = q.run({name: batch}, target="onednn")[model.outputs[0].name]
    agree = float(np.mean(q_logits.argmax(1) == logits.argmax(1)))
    print(f"quantized: {q.op_counts().get('QuantizeLinear', 0)} QuantizeLinear ops, top-1 agrees with float on "
          f"{agree:.0%} of the batch -> {os.path.join(a.work, 'resnet18_int8.onnx')}", flush=True)

    # 3. The Fashion-MNIST CNN, built in Python, trained for an epoch, exported.
    x, y, tx, ty = fashion_mnist()
    x, y = x[:a.train_samples], y[:a.train_samples]
    cnn = fashion_cnn()
    epochs = []
    trained = dlc.train(cnn, data={"image": x, "target": y}, epochs=1, batch=64, optimizer="adamw", lr=1e-3,
                        on_epoch=epochs.append)
    acc = accuracy(trained, tx, ty, "onednn")
    out = trained.export_onnx(os.path.join(a.work, "fashion_cnn.onnx"))
    print(f"fashion-mnist: trained {epochs[-1]['steps']} steps (loss {epochs[-1]['train_loss']:.3f}), "
          f"test accuracy {acc:.2f}% -> {out}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except dlc.Error as e:
        sys.exit(f"quickstart: error: {e}")
