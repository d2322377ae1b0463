"""dlc.quantize, dlc.prune, dlc.train, dlc.export_onnx and dlc.cli: the command line's options as
keyword arguments, arrays in memory as data, results checked against PyTorch and ONNX Runtime."""
import os

import numpy as np
import onnx
import onnx.numpy_helper
import pytest

import dlc


def images(n, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 1, 28, 28)).astype(np.float32)


def torch_logits(net, x):
    import torch
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


def test_quantize_with_a_calibration_array(small_cnn, tmp_path):
    path, net = small_cnn
    model = dlc.load(path)
    x = images(16, seed=1)
    q = dlc.quantize(model, calibrate={"image": images(64)}, per_channel=True)
    assert isinstance(q, dlc.Model)
    counts = q.op_counts()
    assert counts.get("QuantizeLinear", 0) >= 3 and counts.get("DequantizeLinear", 0) >= 3
    want = torch_logits(net, x)
    got = q.run({"image": x})["logits"]
    # int8 against PyTorch's float: the top class mostly agrees and the error is a few percent.
    assert np.mean(got.argmax(1) == want.argmax(1)) >= 0.8
    assert np.max(np.abs(got - want)) <= 0.1 * np.max(np.abs(want))
    # A .dlc output is returned as an artifact and written atomically.
    out = str(tmp_path / "q.dlc")
    art = dlc.quantize(path, out, calibrate={"image": images(64)}, target="onednn")
    assert isinstance(art, dlc.Artifact) and os.path.exists(out) and art.target == "onednn"
    assert np.max(np.abs(art.run({"image": x[:1]})["logits"] - got[:1])) <= 0.05 * np.max(np.abs(want))


def test_quantize_errors_name_what_was_given(small_cnn):
    path, _ = small_cnn
    with pytest.raises(dlc.Error, match="arrays given as calibrate="):
        dlc.quantize(path, calibrate={"wrong_name": images(4)})
    with pytest.raises(dlc.Error, match="no-such-option|unknown option"):
        dlc.quantize(path, calibrate={"image": images(4)}, no_such_option=3)
    with pytest.raises(dlc.Error, match="calibrate takes a .npz path or a dict"):
        dlc.quantize(path, calibrate=[1, 2, 3])


def test_prune_magnitude_zeroes_the_weights(small_cnn, tmp_path):
    path, net = small_cnn
    out = str(tmp_path / "pruned.onnx")
    report = str(tmp_path / "report.json")
    pruned = dlc.prune(path, out, method="magnitude", sparsity=0.6, scope="layer", report=report)
    assert isinstance(pruned, dlc.Model) and os.path.exists(report)
    m = onnx.load(out)
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in m.graph.initializer}
    conv_weights = [weights[n.input[1]] for n in m.graph.node if n.op_type == "Conv"]
    assert len(conv_weights) == 2
    for w in conv_weights:
        assert np.sum(w == 0) == int(0.6 * w.size)


def test_prune_channel_then_train_then_export(small_cnn, tmp_path, ort):
    path, _ = small_cnn
    rng = np.random.default_rng(3)
    x = images(256, seed=4)
    y = rng.integers(0, 10, 256).astype(np.int64)
    slim = dlc.prune(path, method="channel", sparsity=0.5, min_channels=4)
    assert slim.num_ops > 0
    seen = []
    trained = dlc.train(slim, data={"image": x, "target": y}, epochs=3, lr=0.01, optimizer="adam", batch=32,
                        target="cpu", seed=1, on_epoch=seen.append)
    assert [s["epoch"] for s in seen] == [1, 2, 3]
    assert seen[-1]["train_loss"] < seen[0]["train_loss"]
    onnx_path = trained.export_onnx(str(tmp_path / "trained.onnx"))
    onnx.checker.check_model(onnx.load(onnx_path), full_check=True)
    want = ort(onnx_path, [x[:8]])[0]
    got = trained.run({"image": x[:8]})["logits"]
    assert np.max(np.abs(got - want)) <= 1e-4 * np.max(np.abs(want))


def test_train_callback_can_stop_and_raise(small_cnn):
    path, _ = small_cnn
    data = {"image": images(64), "target": np.zeros(64, np.int64)}
    seen = []
    dlc.train(path, data=data, epochs=5, on_epoch=lambda s: seen.append(s) or False)
    assert len(seen) == 1

    def fails(stats):
        raise KeyError("from the callback")
    with pytest.raises(KeyError, match="from the callback"):
        dlc.train(path, data=data, epochs=3, on_epoch=fails)
    with pytest.raises(dlc.Error, match="has no array 'target'"):
        dlc.train(path, data={"image": images(8)}, epochs=1)


def test_export_onnx_and_cli(small_cnn, tmp_path, capfd):
    path, net = small_cnn
    out = dlc.export_onnx(path, str(tmp_path / "again.onnx"), opset=13)
    again = dlc.load(out)
    x = images(2)
    assert np.allclose(again.run(x)["logits"], torch_logits(net, x), rtol=0, atol=1e-4)
    with pytest.raises(dlc.Error, match="opset 9 is not supported"):
        dlc.export_onnx(path, str(tmp_path / "old.onnx"), opset=9)
    dlc.cli("inspect", path)
    assert "image" in capfd.readouterr().out
    with pytest.raises(dlc.Error, match="unknown command 'frobnicate'"):
        dlc.cli("frobnicate")


def test_docstrings_carry_the_command_line_help():
    for fn, usage in ((dlc.quantize, "usage: dlc quantize"), (dlc.prune, "usage: dlc prune"), (dlc.train, "usage: dlc train")):
        assert usage in fn.__doc__ and "per_channel=True" in fn.__doc__
