#!/usr/bin/python3
"""Fashion-MNIST from Debian's dataset-fashion-mnist package (IDX files) as .npz files.

writes OUT/train.npz (60000 images) and OUT/test.npz (10000): `image` f32 [N, 1, 28, 28],
standardized with the training set's mean and deviation of the pixel values scaled to [0, 1]
(0.2860, 0.3530), and `target` i64 [N]. A folder that already holds both files is left alone.

usage: fashion_mnist.py OUT_DIR [--data /usr/share/datasets/fashion-mnist]
"""
import argparse
import gzip
import os
import sys

import numpy as np


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = magic & 0xFF
    if magic >> 8 != 0x08:
        sys.exit(f"fashion_mnist.py: error: {path} is not an unsigned-byte IDX file")
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        target = os.path.join(a.out, f"{split}.npz")
        if os.path.exists(target):
            continue
        images = os.path.join(a.data, f"{prefix}-images-idx3-ubyte.gz")
        labels = os.path.join(a.data, f"{prefix}-labels-idx1-ubyte.gz")
        if not os.path.exists(images):
            sys.exit(f"fashion_mnist.py: error: {images} not found (install dataset-fashion-mnist)")
        x = ((read_idx(images).astype(np.float32) / 255.0 - 0.2860) / 0.3530).reshape(-1, 1, 28, 28)
        y = read_idx(labels).astype(np.int64)
        tmp = target + ".tmp.npz"
        np.savez(tmp, image=x, target=y)
        os.replace(tmp, target)
    print(f"fashion-mnist in {a.out}")


if __name__ == "__main__":
    main()
