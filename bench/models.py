"""The benchmark model zoo: tests/models/export_models.py's models plus vit_b_16.

Exports go through export_models.export (random weights, torch.manual_seed(0), eval mode, the
same stamp-based caching), so a model benchmarked here is the same file the model tests check.
"""
import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "models"))

import export_models as em  # noqa: E402  (needs the path above)

torch, nn, torchvision = em.torch, em.nn, em.torchvision


BATCH = {0: "N"}
# Same row layout as export_models.MODELS: (constructor, inputs, input names, output names,
# dynamic axes, large?).
def _vit_b_16():
    """torchvision's ViT-B/16; its classifier head starts at zero, which would make every logit 0 and
    an accuracy check vacuous, so the head gets small random weights like the other layers."""
    m = torchvision.models.vit_b_16()
    nn.init.normal_(m.heads.head.weight, std=0.02)
    return m


em.MODELS.setdefault("vit_b_16", (_vit_b_16, em.image, ["input"], ["logits"],
                                  {"input": BATCH, "logits": BATCH}, True))

class _Recurrent(nn.Module):
    """A 2-layer recurrent encoder (input 256, hidden 512) over [batch 4, seq 64, 256] (ONNX's
    sequence-major LSTM/GRU between two Transposes), the output sequence returned: the size where
    the per-step matrix products dominate."""

    def __init__(self, cell):
        super().__init__()
        self.rnn = cell(input_size=256, hidden_size=512, num_layers=2)

    def forward(self, x):
        return self.rnn(x.transpose(0, 1))[0].transpose(0, 1)


def _sequence():
    return [em.np.random.default_rng(0).standard_normal((4, 64, 256), dtype=em.np.float32)]


em.MODELS.setdefault("lstm_large", (lambda: _Recurrent(nn.LSTM), _sequence, ["x"], ["y"], {"x": BATCH, "y": BATCH}, False))
em.MODELS.setdefault("gru_large", (lambda: _Recurrent(nn.GRU), _sequence, ["x"], ["y"], {"x": BATCH, "y": BATCH}, False))

# export_models stamps an export with a hash of its own source; fold this file in too so that a
# change to the models above re-exports them.
_stamp_for = em.stamp_for


def _stamp_with_bench(name, opset):
    with open(os.path.abspath(__file__), "rb") as f:
        return hashlib.sha256((_stamp_for(name, opset) + "|").encode() + f.read()).hexdigest()


em.stamp_for = _stamp_with_bench

MODELS = em.MODELS
DEFAULT_OPSET = em.DEFAULT_OPSET


def export(name, out_dir, opset=DEFAULT_OPSET, force=False):
    """Exports `name` into out_dir/<name>/ (model.onnx, input_<i>.npy, expected_<i>.npy) unless current."""
    em.export(name, out_dir, opset, force)
    return os.path.join(out_dir, name)


def build(name):
    """The PyTorch module (eval mode, seeded and calibrated as the export) and its input arrays."""
    make, make_inputs = MODELS[name][0], MODELS[name][1]
    torch.manual_seed(0)
    model = make().eval()
    em.calibrate_batchnorm(model, make_inputs)
    return model, make_inputs()
