"""dlc.nn: models written in Python with dlc's builder (the same IR the ONNX importer makes).

    m = dlc.nn.Model("mlp", seed=0)
    x = m.input("x", ["N", 784])
    h = dlc.nn.relu(dlc.nn.Linear(m, "fc1", 784, 128)(x))
    m.output(dlc.nn.Linear(m, "fc2", 128, 10)(h), "logits")
    model = m.finish()                  # a dlc.Model: run, compile, train, export_onnx

Errors are raised at the call that makes them; Var supports + - * / @ ** and unary -.
"""
from ._core import nn as _nn
from ._core.nn import (Var, Linear, Conv2d, BatchNorm2d, LayerNorm, RMSNorm, add, sub, mul, div, matmul, minimum,
                       maximum, greater, less, equal, neg, abs, exp, log, sqrt, softplus, relu, sigmoid, tanh, gelu, silu,
                       logical_not, global_avg_pool, where, cast, reduce_sum, reduce_mean, argmax, softmax,
                       log_softmax, transpose, reshape, unsqueeze, flatten, max_pool2d, avg_pool2d)
from .model import Model as _DlcModel


class Model(_nn.Model):
    """A model under construction: inputs (dims are ints or symbol names), parameters, constants,
    outputs; finish() hands over the dlc.Model."""

    def finish(self) -> _DlcModel:
        return _DlcModel(super().finish())


class _Choice:
    """A loss, optimizer or schedule for dlc.train / dlc.prune(finetune=...): the command line's
    --loss/--optimizer/--schedule value with its own options (keyword names as in dlc.train)."""
    option = ""
    value = ""

    def __init__(self, **options):
        self.options = {k: v for k, v in options.items() if v is not None}

    def as_options(self):
        return {self.option: self.value, **self.options}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"dlc.nn.{type(self).__name__}({args})"


class Loss(_Choice):
    option = "loss"


class Optimizer(_Choice):
    option = "optimizer"


class Schedule(_Choice):
    option = "schedule"


def _choices(base, table):
    made = {}
    for cls_name, value, doc in table:
        made[cls_name] = type(cls_name, (base,), {"value": value, "__doc__": doc})
    return made


globals().update(_choices(Loss, [
    ("CrossEntropyLoss", "cross-entropy", "torch.nn.CrossEntropyLoss: label_smoothing, class_weights, ignore_index, reduction, class_axis"),
    ("NLLLoss", "nll", "torch.nn.NLLLoss on log-probabilities"),
    ("MSELoss", "mse", "mean squared error"),
    ("L1Loss", "l1", "mean absolute error"),
    ("HuberLoss", "huber", "torch.nn.HuberLoss: delta"),
    ("SmoothL1Loss", "smooth-l1", "torch.nn.SmoothL1Loss: delta (beta)"),
    ("BCEWithLogitsLoss", "bce-with-logits", "torch.nn.BCEWithLogitsLoss: pos_weight"),
    ("KLDivLoss", "kl-div", "torch.nn.KLDivLoss: log_target, reduction"),
    ("FocalLoss", "focal", "focal loss: focal_alpha, focal_gamma"),
    ("DiceLoss", "dice", "dice loss"),
    ("ContrastiveLoss", "contrastive", "contrastive loss over two outputs: margin"),
    ("TripletLoss", "triplet", "triplet margin loss over three outputs: margin"),
    ("ModelLoss", "model", "the model's first output is its own loss (a float scalar)"),
]))
globals().update(_choices(Optimizer, [
    ("SGD", "sgd", "torch.optim.SGD: lr, momentum, dampening, nesterov, weight_decay"),
    ("Adam", "adam", "torch.optim.Adam: lr, betas, eps, weight_decay, amsgrad"),
    ("AdamW", "adamw", "torch.optim.AdamW: lr, betas, eps, weight_decay, amsgrad"),
    ("RMSprop", "rmsprop", "torch.optim.RMSprop: lr, alpha, eps, momentum, centered"),
    ("Adagrad", "adagrad", "torch.optim.Adagrad: lr, lr_decay, initial_accumulator"),
    ("RAdam", "radam", "torch.optim.RAdam"),
    ("LAMB", "lamb", "LAMB (large-batch Adam)"),
    ("LARS", "lars", "LARS (large-batch SGD): trust_coefficient"),
    ("Ranger", "ranger", "RAdam + Lookahead + gradient centralization"),
]))
globals().update(_choices(Schedule, [
    ("ConstantLR", "constant", "a constant learning rate (warmup allowed)"),
    ("StepLR", "step", "torch's StepLR: step_size (epochs), gamma"),
    ("MultiStepLR", "multistep", "torch's MultiStepLR: milestones (epochs), gamma"),
    ("ExponentialLR", "exponential", "torch's ExponentialLR: gamma"),
    ("CosineAnnealingLR", "cosine", "torch's CosineAnnealingLR: t_max, eta_min"),
    ("CosineAnnealingWarmRestarts", "cosine-restarts", "torch's CosineAnnealingWarmRestarts: t0, t_mult, eta_min"),
    ("CyclicLR", "cyclic", "torch's CyclicLR: max_lr, step_size_up, step_size_down"),
    ("OneCycleLR", "one-cycle", "torch's OneCycleLR: max_lr, pct_start"),
]))
