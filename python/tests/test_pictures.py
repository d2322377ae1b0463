"""Pictures: the op graph as SVG (Graphviz), a profile's bar chart, training curves and the
quantization report's per-layer SQNR (matplotlib), each opened and looked at here."""
import math
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import dlc


def open_image(path):
    """The image's pixels (matplotlib reads PNG itself); fails on a file that is not a drawing."""
    import matplotlib.image
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] >= 200 and pixels.shape[1] >= 300, pixels.shape
    rgb = pixels[..., :3].reshape(-1, 3)
    # Mostly background, but with lines, bars and text: many distinct colours, not a blank canvas.
    assert len(np.unique((rgb * 255).astype(np.uint8), axis=0)) > 20
    assert float(np.mean(np.all(rgb > 0.98, axis=1))) > 0.3
    return pixels


def svg_texts(path):
    root = ET.parse(path).getroot()
    return [t.text for t in root.iter() if t.tag.endswith("text") and t.text]


def test_inspect_svg_shows_fused_ops(small_cnn, tmp_path):
    path, _ = small_cnn
    out = str(tmp_path / "graph.svg")
    dlc.cli("inspect", path, "--format", "svg", "-o", out)
    texts = svg_texts(out)
    assert "FusedConv" in texts and "image" in texts
    assert "Conv + bias + Relu" in texts, texts
    # Fused ops are filled; plain ones are not.
    fills = [e.get("fill") for e in ET.parse(out).getroot().iter() if e.tag.endswith("polygon")]
    assert "#cfe2ff" in fills
    # -O0 keeps the imported ops: no fused op, no fill.
    plain = str(tmp_path / "plain.svg")
    dlc.cli("inspect", path, "--format", "svg", "-O0", "-o", plain)
    assert "FusedConv" not in svg_texts(plain) and "Conv" in svg_texts(plain)
    with pytest.raises(dlc.Error, match="unknown format 'png'"):
        dlc.cli("inspect", path, "--format", "png")


def test_bench_profile_plot(small_cnn, tmp_path):
    path, _ = small_cnn
    for target in ("reference", "cpu"):
        out = str(tmp_path / f"profile_{target}.png")
        dlc.cli("bench", path, "--target", target, "--runs", "3", "--profile", "--plot", out)
        open_image(out)
    svg = str(tmp_path / "profile.svg")
    dlc.cli("bench", path, "--runs", "2", "--profile", "--plot", svg)
    assert any("ms" in t for t in svg_texts(svg)) and any("Conv" in t for t in svg_texts(svg))
    with pytest.raises(dlc.Error, match="give --profile too"):
        dlc.cli("bench", path, "--plot", svg)
    with pytest.raises(dlc.Error, match="must end in .png, .svg or .pdf"):
        dlc.cli("bench", path, "--profile", "--plot", str(tmp_path / "p.jpg"))


def test_training_curves(small_cnn, tmp_path):
    path, _ = small_cnn
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 128).astype(np.int64)
    out = str(tmp_path / "curves.png")
    history = []
    dlc.train(path, data={"image": x, "target": y}, val={"image": x[:32], "target": y[:32]}, epochs=3, plot=out,
              on_epoch=history.append)
    open_image(out)
    again = dlc.plot.training_curves(history, str(tmp_path / "from_python.png"))
    open_image(again)
    assert len(history) == 3 and not math.isnan(history[0]["val_loss"])
    with pytest.raises(dlc.Error, match="must end in .png"):
        dlc.train(path, data={"image": x, "target": y}, plot=str(tmp_path / "c.gif"))


def test_quantization_sqnr_plot(small_cnn, tmp_path):
    path, _ = small_cnn
    calib = {"image": np.random.default_rng(1).standard_normal((32, 1, 28, 28)).astype(np.float32)}
    out, report = str(tmp_path / "sqnr.png"), str(tmp_path / "report.json")
    dlc.quantize(path, calibrate=calib, per_channel=True, report=report, plot=out)
    open_image(out)
    open_image(dlc.plot.sqnr(report, str(tmp_path / "sqnr_python.png")))
    with pytest.raises(ValueError, match="no quantized layers"):
        dlc.plot.sqnr({"quantized": []}, str(tmp_path / "empty.png"))
    assert not os.path.exists(tmp_path / "empty.png")
