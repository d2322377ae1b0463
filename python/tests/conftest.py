"""Fixtures of the Python package's tests: models exported from PyTorch (shared with the model tests
through build/models), ONNX Runtime from the npm cache of the benchmarks, Fashion-MNIST samples.

`import dlc` itself is not arranged here: the tests check that the build made the package
importable (scripts/build.sh puts build/python on the interpreter's path)."""
import os
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("DLC_BUILD_DIR", os.path.join(REPO, "build"))
sys.path.insert(0, os.path.join(REPO, "tests", "models"))  # check_export_ort's ONNX Runtime helpers


@pytest.fixture(scope="session")
def zoo():
    """build/models/<name>/ (model.onnx, input_<i>.npy, expected_<i>.npy): the model tests' exports,
    made here when missing (export_models.py skips those up to date)."""
    folder = os.path.join(BUILD, "models")
    subprocess.run([sys.executable, os.path.join(REPO, "tests", "models", "export_models.py"), folder,
                    "--models", "mlp,resnet18"], check=True, stdout=subprocess.DEVNULL)
    return folder


@pytest.fixture(scope="session")
def ort():
    """Runs an ONNX file on ONNX Runtime 1.30 (npm onnxruntime-node): ort(model, [arrays]) -> [arrays]."""
    import check_export_ort
    folder = check_export_ort.install_ort(os.path.join(BUILD, "bench-cache"))
    work = os.path.join(BUILD, "python-tests", "ort")

    def run(model, inputs):
        outs, _ = check_export_ort.run_ort(folder, model, inputs, work)
        return outs
    return run


@pytest.fixture(scope="session")
def small_cnn(tmp_path_factory):
    """A conv/BN/ReLU/pool/linear classifier from PyTorch (random weights, BatchNorm statistics
    calibrated, inference mode) exported to ONNX with a symbolic batch; (path, torch module)."""
    import torch
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(1, 8, 3, padding=1)
            self.bn1 = torch.nn.BatchNorm2d(8)
            self.conv2 = torch.nn.Conv2d(8, 16, 3, padding=1)
            self.fc = torch.nn.Linear(16 * 7 * 7, 10)

        def forward(self, x):
            x = torch.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
            x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
            return self.fc(torch.flatten(x, 1))

    net = Net()
    with torch.no_grad():
        net.train()
        for _ in range(4):
            net(torch.randn(32, 1, 28, 28))
    net.eval()
    path = str(tmp_path_factory.mktemp("cnn") / "small_cnn.onnx")
    torch.onnx.export(net, torch.randn(1, 1, 28, 28), path, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, opset_version=17)
    return path, net


@pytest.fixture(scope="session")
def fashion():
    """Fashion-MNIST (Debian's dataset-fashion-mnist): (train images, train labels, test images,
    test labels), images f32 [N, 1, 28, 28] standardized as tests/training/fashion_mnist.py does."""
    import gzip
    root = "/usr/share/datasets/fashion-mnist"

    def idx(name):
        with gzip.open(os.path.join(root, name), "rb") as f:
            data = f.read()
        dims = data[3]
        shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
        return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)

    def images(name):
        return ((idx(name).astype(np.float32) / 255.0 - 0.2860) / 0.3530).reshape(-1, 1, 28, 28)
    return (images("train-images-idx3-ubyte.gz"), idx("train-labels-idx1-ubyte.gz").astype(np.int64),
            images("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
