"""dlc.nn: models written in Python, checked against the same computation in NumPy and PyTorch."""
import os
import tempfile

import numpy as np
import onnx
import onnx.numpy_helper
import pytest

import dlc
from dlc import nn


def test_mlp_with_given_weights_matches_numpy():
    rng = np.random.default_rng(0)
    w1, b1 = rng.standard_normal((5, 7)).astype(np.float32), rng.standard_normal(7).astype(np.float32)
    w2 = rng.standard_normal((7, 3)).astype(np.float32)
    m = nn.Model("mlp")
    x = m.input("x", ["N", 5])
    h = nn.relu(x @ m.constant(w1, "w1") + m.constant(b1, "b1"))
    y = nn.softmax(2.0 * (h @ m.constant(w2, "w2")) - 1.0, axis=-1)
    assert y.dtype == "f32" and y.shape == ("N", 3)
    m.output(y, "probs")
    model = m.finish()
    assert isinstance(model, dlc.Model)
    xs = rng.standard_normal((4, 5)).astype(np.float32)
    z = 2.0 * (np.maximum(xs @ w1 + b1, 0) @ w2) - 1.0
    want = np.exp(z - z.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    for target in ("reference", "cpu", "onednn"):
        got = model.run({"x": xs}, target=target)["probs"]
        assert np.allclose(got, want, rtol=1e-5, atol=1e-6), target


def test_cnn_layers_match_pytorch():
    import torch
    m = nn.Model("cnn", seed=3)
    x = m.input("image", ["N", 1, 8, 8])
    conv = nn.Conv2d(m, "conv", 1, 4, 3, pad=1)
    h = nn.max_pool2d(nn.relu(conv(x)), 2, 2)
    out = nn.Linear(m, "fc", 4 * 4 * 4, 2)(nn.flatten(h))
    m.output(out, "logits")
    model = m.finish()
    # The builder's parameters, read back through an ONNX export, in a PyTorch model.
    with tempfile.TemporaryDirectory() as d:
        path = model.export_onnx(os.path.join(d, "cnn.onnx"))
        weights = {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}
    xs = np.random.default_rng(1).standard_normal((2, 1, 8, 8)).astype(np.float32)
    def t(a):
        return torch.from_numpy(np.array(a))
    ref = torch.nn.functional.conv2d(t(xs), t(weights["conv.weight"]), t(weights["conv.bias"]), padding=1)
    ref = torch.flatten(torch.max_pool2d(torch.relu(ref), 2), 1) @ t(weights["fc.weight"]) + t(weights["fc.bias"])
    got = model.run(xs)["logits"]
    assert np.allclose(got, ref.numpy(), rtol=1e-5, atol=1e-5)


def test_rms_norm_matches_pytorch_on_every_target():
    """nn.RMSNorm (weight 1, eps 1e-6) against torch's LLaMA-style x * rsqrt(mean(x^2) + eps)."""
    import torch
    m = nn.Model("rms")
    x = m.input("x", ["N", "S", 16])
    m.output(nn.RMSNorm(m, "norm", 16)(x), "y")
    model = m.finish()
    xs = np.random.default_rng(2).standard_normal((2, 5, 16)).astype(np.float32)
    t = torch.from_numpy(xs)
    want = (t * torch.rsqrt(t.pow(2).mean(-1, keepdim=True) + 1e-6)).numpy()
    for target in ("reference", "cpu", "onednn"):
        got = model.run({"x": xs}, target=target)["y"]
        assert np.allclose(got, want, rtol=1e-5, atol=1e-6), target


def test_builder_errors_are_raised_where_they_happen():
    m = nn.Model("bad")
    a = m.input("a", [2, 3])
    b = m.input("b", [4, 5])
    with pytest.raises(dlc.Error, match="MatMul|3.*4|shape"):
        a @ b
    other = nn.Model("other")
    c = other.input("c", [2, 3])
    with pytest.raises(dlc.Error, match="two different models"):
        nn.add(a, c)
    with pytest.raises(dlc.Error, match="unknown dtype 'f33'"):
        other.input("d", [1], dtype="f33")
    other.output(c)
    other.finish()
    with pytest.raises(dlc.Error, match="finished"):
        other.input("e", [1])


def test_losses_optimizers_and_schedules_reach_the_trainer():
    """An nn.Model regression trained with nn.MSELoss, nn.SGD and nn.StepLR: the loss falls and the
    learning rate the trainer reports per epoch is StepLR's (lr · gamma^(epoch-1))."""
    rng = np.random.default_rng(0)
    w_true = rng.standard_normal((3, 1)).astype(np.float32)
    x = rng.standard_normal((256, 3)).astype(np.float32)
    y = x @ w_true
    m = nn.Model("regression", seed=2)
    inp = m.input("x", ["N", 3])
    m.output(nn.Linear(m, "fc", 3, 1)(inp), "y")
    untrained = m.finish()
    seen = []
    trained = dlc.train(untrained, data={"x": x, "target": y}, epochs=3, batch=32, target="cpu",
                        loss=nn.MSELoss(), optimizer=nn.SGD(lr=0.1, momentum=0.9),
                        schedule=nn.StepLR(step_size=1, gamma=0.5), on_epoch=seen.append)
    assert [round(s["lr"], 6) for s in seen] == [0.1, 0.05, 0.025]
    assert seen[-1]["train_loss"] < 0.5 * seen[0]["train_loss"]

    def error(model):
        return float(np.mean((model.run({"x": x})["y"] - y) ** 2))
    assert error(trained) < 0.1 * error(untrained)
    with pytest.raises(dlc.Error, match="a value for loss="):
        dlc.train(trained, data={"x": x, "target": y}, optimizer=nn.MSELoss())
    with pytest.raises(dlc.Error, match="lr= is given twice"):
        dlc.train(trained, data={"x": x, "target": y}, optimizer=nn.SGD(lr=0.1), lr=0.2)
    assert repr(nn.AdamW(lr=1e-3)) == "dlc.nn.AdamW(lr=0.001)"
