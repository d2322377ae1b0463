"""dlc.nn: models written in Python with dlc's builder (the same IR the ONNX importer makes).

    m = dlc.nn.Model("mlp", seed=0)
    x = m.input("x", ["N", 784])
    h = dlc.nn.relu(dlc.nn.Linear(m, "fc1", 784, 128)(x))
    m.output(dlc.nn.Linear(m, "fc2", 128, 10)(h), "logits")
    model = m.finish()                  # a dlc.Model: run, compile, train, export_onnx

Errors are raised at the call that makes them; Var supports + - * / @ ** and unary -.
"""
from ._core import nn as _nn
from ._core.nn import (Var, Linear, Conv2d, BatchNorm2d, LayerNorm, add, sub, mul, div, matmul, minimum, maximum,
                       greater, less, equal, neg, abs, exp, log, sqrt, softplus, relu, sigmoid, tanh, gelu, silu,
                       logical_not, global_avg_pool, where, cast, reduce_sum, reduce_mean, argmax, softmax,
                       log_softmax, transpose, reshape, unsqueeze, flatten, max_pool2d, avg_pool2d)
from .model import Model as _DlcModel


class Model(_nn.Model):
    """A model under construction: inputs (dims are ints or symbol names), parameters, constants,
    outputs; finish() hands over the dlc.Model."""

    def finish(self) -> _DlcModel:
        return _DlcModel(super().finish())
