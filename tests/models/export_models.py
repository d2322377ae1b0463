#!/usr/bin/python3
"""Exports the model-test models from PyTorch to ONNX, with a fixed input and PyTorch's output.

For each model, OUT_DIR/<model>/ gets model.onnx, input_<i>.npy and expected_<i>.npy (one per
graph input/output, in graph order). Weights are random (torch.manual_seed(0)), models are in eval
mode, and the batch axis is dynamic ("N") where the architecture allows it. A folder whose stamp
matches this script and the export settings is left alone, so re-running ctest does not re-export.

usage: export_models.py OUT_DIR [--models a,b] [--large] [--opset 17] [--force]
"""
import argparse
import hashlib
import os
import sys
import time

import numpy as np

try:
    import torch
    import torch.nn as nn
    import torchvision
except ImportError as e:  # the Debian packages python3-torch / python3-torchvision
    sys.exit(f"export_models.py: error: {e} (run with /usr/bin/python3, which has torch)")

DEFAULT_OPSET = 17


class TransformerSmall(nn.Module):
    """Two post-norm encoder layers with GELU and a final LayerNorm (d_model 64, 4 heads)."""

    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, dropout=0.0,
                                           activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(64),
                                             enable_nested_tensor=False)

    def forward(self, x):
        return self.encoder(x)


class LstmSmall(nn.Module):
    """2-layer bidirectional LSTM (input 32, hidden 48); returns the output sequence and final states."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=32, hidden_size=48, num_layers=2, bidirectional=True, batch_first=True)

    def forward(self, x):
        y, (h, c) = self.lstm(x)
        return y, h, c


class BertLayer(nn.Module):
    """One BERT encoder layer written out: post-norm self-attention and a GELU feed-forward."""

    def __init__(self, d=768, heads=12, ffn=3072, eps=1e-12):
        super().__init__()
        self.heads, self.d, self.scale = heads, d, (d // heads) ** -0.5
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm1 = nn.LayerNorm(d, eps=eps)
        self.ffn_in = nn.Linear(d, ffn)
        self.ffn_out = nn.Linear(ffn, d)
        self.norm2 = nn.LayerNorm(d, eps=eps)

    def forward(self, x):
        n, s = x.shape[0], x.shape[1]
        q, k, v = self.qkv(x).reshape(n, s, 3, self.heads, self.d // self.heads).permute(2, 0, 3, 1, 4)
        att = torch.softmax((q @ k.transpose(-1, -2)) * self.scale, dim=-1)
        ctx = (att @ v).transpose(1, 2).reshape(n, s, self.d)
        x = self.norm1(x + self.proj(ctx))
        return self.norm2(x + self.ffn_out(nn.functional.gelu(self.ffn_in(x))))


class BertBase(nn.Module):
    """BERT-base-shaped encoder: token + position + segment embeddings, 12 layers, d 768."""

    def __init__(self, vocab=30522, max_pos=512, d=768, layers=12):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(max_pos, d)
        self.seg = nn.Embedding(2, d)
        self.norm = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList(BertLayer(d) for _ in range(layers))

    def forward(self, input_ids):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        x = self.tok(input_ids) + self.pos(positions) + self.seg(torch.zeros_like(input_ids))
        x = self.norm(x)
        for layer in self.layers:
            x = layer(x)
        return x


class Fcn(nn.Module):
    """A small fully convolutional segmenter: two stride-2 conv blocks down, two transposed
    convolutions up (with a skip connection), a 1x1 head. Any H and W divisible by 4."""

    def __init__(self, classes=8):
        super().__init__()

        def block(i, o, s):
            return nn.Sequential(nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU())

        self.d1, self.d2, self.d3 = block(3, 32, 2), block(32, 64, 2), block(64, 64, 1)
        self.u1 = nn.ConvTranspose2d(64, 32, 2, 2)
        self.u2 = nn.ConvTranspose2d(32, 16, 2, 2)
        self.head = nn.Conv2d(16, classes, 1)

    def forward(self, x):
        a = self.d1(x)
        b = self.d3(self.d2(a))
        return self.head(torch.relu(self.u2(torch.relu(self.u1(b) + a))))


class Mlp(nn.Module):
    """Three GELU-separated Linear layers, 1024 -> 2048 -> 2048 -> 1000 (a GEMM-bound workload)."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(1024, 2048), nn.GELU(), nn.Linear(2048, 2048), nn.GELU(),
                                    nn.Linear(2048, 1000))

    def forward(self, x):
        return self.layers(x)


def image(batch=1):
    return [np.random.default_rng(0).standard_normal((batch, 3, 224, 224), dtype=np.float32)]


def tokens(batch=1, seq=128, vocab=30522):
    return [np.random.default_rng(0).integers(0, vocab, (batch, seq), dtype=np.int64)]


def sequence(batch, seq, features):
    return [np.random.default_rng(0).standard_normal((batch, seq, features), dtype=np.float32)]


# name -> (constructor, inputs, input names, output names, dynamic axes, large?)
BATCH = {0: "N"}
MODELS = {
    # A batch of 32, so that benchmarks measure GEMM throughput rather than latency.
    "mlp": (Mlp, lambda: [np.random.default_rng(0).standard_normal((32, 1024), dtype=np.float32)], ["x"], ["y"],
            {"x": BATCH, "y": BATCH}, False),
    "resnet18": (lambda: torchvision.models.resnet18(), image, ["input"], ["logits"],
                 {"input": BATCH, "logits": BATCH}, False),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(), image, ["input"], ["logits"],
                     {"input": BATCH, "logits": BATCH}, False),
    "transformer": (TransformerSmall, lambda: sequence(2, 16, 64), ["x"], ["y"], {"x": BATCH, "y": BATCH}, False),
    "fcn": (Fcn, lambda: [np.random.default_rng(0).standard_normal((1, 3, 48, 80), dtype=np.float32)], ["image"], ["mask"],
            {"image": {0: "N", 2: "H", 3: "W"}, "mask": {0: "N", 2: "H", 3: "W"}}, False),
    "lstm": (LstmSmall, lambda: sequence(2, 10, 32), ["x"], ["y", "h", "c"],
             {"x": BATCH, "y": BATCH, "h": {1: "N"}, "c": {1: "N"}}, False),
    "resnet50": (lambda: torchvision.models.resnet50(), image, ["input"], ["logits"],
                 {"input": BATCH, "logits": BATCH}, True),
    "efficientnet_b0": (lambda: torchvision.models.efficientnet_b0(), image, ["input"], ["logits"],
                        {"input": BATCH, "logits": BATCH}, True),
    "bert_base": (BertBase, tokens, ["input_ids"], ["hidden"], {"input_ids": BATCH, "hidden": BATCH}, True),
}
SMALL = [m for m, spec in MODELS.items() if not spec[5]]
LARGE = [m for m, spec in MODELS.items() if spec[5]]


def calibrate_batchnorm(model, make_inputs):
    """Sets BatchNorm running statistics to those of random data (cumulative average).

    With torchvision's initialisation and the default statistics (mean 0, var 1) activations
    vanish through the depthwise convolutions (mobilenet_v2's logits are ~1e-9), which would make
    the comparison meaningless. Real statistics keep every layer's output O(1) and give Conv+BN
    folding non-trivial scales and shifts to fold.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    model.train()
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for _ in range(2):
            x = make_inputs()[0]
            model(torch.from_numpy(rng.standard_normal((4,) + x.shape[1:], dtype=np.float32)))
    model.eval()


def stamp_for(name, opset):
    """Changes whenever this script or the export settings change, so stale exports are redone."""
    with open(__file__, "rb") as f:
        script = f.read()
    key = script + f"|{name}|{opset}|{torch.__version__}|{torchvision.__version__}".encode()
    return hashlib.sha256(key).hexdigest()


def export(name, out_dir, opset, force):
    make, make_inputs, in_names, out_names, dyn, _ = MODELS[name]
    folder = os.path.join(out_dir, name)
    stamp_path = os.path.join(folder, "stamp.txt")
    stamp = stamp_for(name, opset)
    if not force and os.path.exists(stamp_path):
        with open(stamp_path) as f:
            if f.read().strip() == stamp:
                print(f"{name}: up to date in {folder}")
                return
    os.makedirs(folder, exist_ok=True)
    start = time.time()
    torch.manual_seed(0)
    model = make().eval()
    inputs = make_inputs()
    calibrate_batchnorm(model, make_inputs)
    torch_inputs = tuple(torch.from_numpy(x) for x in inputs)
    # Gradients stay enabled: under no_grad, nn.TransformerEncoderLayer takes a fused fast path
    # (aten::_transformer_encoder_layer_fwd) that has no ONNX export. The expected outputs come
    # from the same (exported) path.
    outputs = model(*torch_inputs)
    if isinstance(outputs, torch.Tensor):
        outputs = (outputs,)
    outputs = [y.detach() for y in outputs]
    torch.onnx.export(model, torch_inputs, os.path.join(folder, "model.onnx"), opset_version=opset,
                      input_names=in_names, output_names=out_names, dynamic_axes=dyn,
                      do_constant_folding=True)
    for i, x in enumerate(inputs):
        np.save(os.path.join(folder, f"input_{i}.npy"), x)
    for i, y in enumerate(outputs):
        np.save(os.path.join(folder, f"expected_{i}.npy"), y.numpy())
    with open(stamp_path, "w") as f:  # written last: a half-done export is redone next time
        f.write(stamp + "\n")
    size_mb = os.path.getsize(os.path.join(folder, "model.onnx")) / 2**20
    print(f"{name}: exported to {folder} (opset {opset}, {size_mb:.1f} MiB, {time.time() - start:.1f} s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--models", help=f"comma-separated, from: {', '.join(MODELS)}")
    ap.add_argument("--large", action="store_true", help=f"add the large models ({', '.join(LARGE)})")
    ap.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset, 13..17")
    ap.add_argument("--force", action="store_true", help="re-export even when up to date")
    args = ap.parse_args()
    if not 13 <= args.opset <= 17:
        ap.error("--opset must be between 13 and 17")
    names = args.models.split(",") if args.models else SMALL + (LARGE if args.large else [])
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for name in names:
        export(name, args.out_dir, args.opset, args.force)


if __name__ == "__main__":
    main()
