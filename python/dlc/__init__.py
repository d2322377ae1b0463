"""dlc — a deep-learning graph compiler and runtime, from Python.

    import dlc, numpy as np
    model = dlc.load("resnet18.onnx")                  # a dlc.Model (dlc's IR)
    art = model.compile(target="cpu", input_shapes={"input": (1, 3, 224, 224)})
    out = art.run({"input": np.zeros((1, 3, 224, 224), np.float32)})   # {output name: array}
    q = dlc.quantize(model, calibrate={"input": batch})                 # a quantized dlc.Model
    trained = dlc.train(model, data={"x": x, "target": y}, epochs=1)    # the trained dlc.Model
    trained.export_onnx("trained.onnx")

Every failure raises dlc.Error with dlc's one-line message. dlc.quantize, dlc.prune and dlc.train
take the options of `dlc quantize`, `dlc prune` and `dlc train` as keyword arguments (`--per-channel`
is per_channel=True, `--lr 0.01` is lr=0.01); data options take a file path or a dict of arrays.
"""
from ._core import Error
from .model import Model, Artifact, Session, TensorInfo, load, compile, parse_ir, targets
from .commands import quantize, prune, train, export_onnx, cli
from . import nn, plot

__all__ = ["Error", "Model", "Artifact", "Session", "TensorInfo", "load", "compile", "parse_ir", "targets",
           "quantize", "prune", "train", "export_onnx", "cli", "nn", "plot"]
__version__ = "0.1"
