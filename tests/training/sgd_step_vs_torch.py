#!/usr/bin/python3
"""One SGD step of `dlc train` against PyTorch on the same weights and batch.

For each model: PyTorch builds it (random weights, torch.manual_seed(0)), exports it to ONNX as an
inference model (BatchNorm in inference form, nothing fused, initializers named like the
state_dict), then takes one optimizer step in train mode on one batch: loss.backward() and
torch.optim.SGD(lr=0.1). `dlc train` runs the same step (--steps 1, the whole batch, no shuffling)
and saves its state with --checkpoint.

Every tensor is compared within 1e-4 * max|w|, max|w| taken over the tensors of its layer (the
names that share its prefix: a BatchNorm's weight, bias and statistics). A zero-initialized bias
whose gradient is analytically zero (a BatchNorm shift that feeds another BatchNorm in training
mode) holds float rounding noise (~1e-8) in both engines after the step; its own magnitude is no
scale to measure that noise against, its layer's is.

Each model runs twice. In f64 (the model and data converted, dlc on the reference kernels) both
engines compute the same function without float noise, so they must agree within 1e-4 (they agree
to ~1e-12). In f32, PyTorch's own f32 step is also compared with its f64 step: where that
distance is under the bound, dlc's f32 step must be within the bound of PyTorch's; where f32 is
too ill-conditioned for that (mobilenet_v2 at batch 8: PyTorch's f32 step is ~1e-2 * max|w| from
its f64 step), dlc's f32 step must be at least as close to the f64 step as PyTorch's is.

usage: sgd_step_vs_torch.py --dlc DLC --work DIR [--models a,b] [--target T]
"""
import argparse
import os
import subprocess
import sys

import numpy as np

try:
    import torch
    import torch.nn as nn
    import torchvision
except ImportError as e:
    sys.exit(f"sgd_step_vs_torch.py: error: {e} (run with /usr/bin/python3)")


class LstmTagger(nn.Module):
    """Embedding -> 2-layer bidirectional LSTM -> per-token class scores [N, T, C]."""

    def __init__(self, vocab=100, emb=32, hidden=48, tags=7):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.out = nn.Linear(2 * hidden, tags)

    def forward(self, tokens):
        y, _ = self.lstm(self.emb(tokens))
        return self.out(y)


class BertLayer(nn.Module):
    """A BERT encoder layer written out: post-norm self-attention and a GELU feed-forward."""

    def __init__(self, d, heads, ffn, eps=1e-12):
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


class Bert(nn.Module):
    """A BERT-shaped encoder: token + position + segment embeddings, LayerNorm, encoder layers."""

    def __init__(self, vocab, d, layers, heads, ffn, max_pos=512):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(max_pos, d)
        self.seg = nn.Embedding(2, d)
        self.norm = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList(BertLayer(d, heads, ffn) for _ in range(layers))

    def forward(self, input_ids):
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
        x = self.norm(self.tok(input_ids) + self.pos(positions) + self.seg(torch.zeros_like(input_ids)))
        for layer in self.layers:
            x = layer(x)
        return x


def images(n, size):
    return np.random.default_rng(1).standard_normal((n, 3, size, size), dtype=np.float32)


# name -> (constructor, input name, input maker, loss, class axis, torch loss on the output)
MODELS = {
    "resnet18": (lambda: torchvision.models.resnet18(num_classes=10), "input", lambda: images(8, 32), "cross-entropy"),
    # Dropout off: the two engines draw different masks.
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(num_classes=10, dropout=0.0), "input", lambda: images(8, 32), "cross-entropy"),
    "lstm_tagger": (LstmTagger, "tokens", lambda: np.random.default_rng(1).integers(0, 100, (4, 12), dtype=np.int64),
                    "cross-entropy"),
    "bert_small": (lambda: Bert(vocab=1000, d=128, layers=2, heads=4, ffn=512), "input_ids",
                   lambda: np.random.default_rng(1).integers(0, 1000, (2, 32), dtype=np.int64), "mse"),
    "bert_base": (lambda: Bert(vocab=30522, d=768, layers=12, heads=12, ffn=3072), "input_ids",
                  lambda: np.random.default_rng(1).integers(0, 30522, (1, 64), dtype=np.int64), "mse"),
}


def torch_step(model, x, target, loss_name, class_axis, dtype):
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    opt.zero_grad()
    xt = torch.from_numpy(x)
    y = model(xt.to(dtype) if xt.is_floating_point() else xt)
    if loss_name == "cross-entropy":
        if class_axis != 1:
            y = y.movedim(class_axis, 1)
        loss = nn.functional.cross_entropy(y, torch.from_numpy(target))
    else:
        loss = nn.functional.mse_loss(y, torch.from_numpy(target).to(dtype))
    loss.backward()
    opt.step()
    return float(loss)


def layer_scale(state, key):
    """max|w| over the tensors of key's layer (same prefix, same depth)."""
    prefix = key.rsplit(".", 1)[0] + "."
    return max(float(np.abs(np.asarray(v)).max()) for k, v in state.items()
               if k.startswith(prefix) and k.count(".") == key.count(".") and np.asarray(v).size
               and np.issubdtype(np.asarray(v).dtype, np.floating))


def distance(a, b, scale_from):
    """The largest |a - b| / (1e-4 * layer max|w|) over the tensors, and where."""
    worst, where = 0.0, ""
    for key, want in b.items():
        bound = 1e-4 * max(layer_scale(scale_from, key), 1e-12)
        err = float(np.abs(np.asarray(a[key], dtype=np.float64) - np.asarray(want, dtype=np.float64)).max())
        if err / bound > worst:
            worst, where = err / bound, f"{key} (error {err:.3g}, bound {bound:.3g})"
    return worst, where


def run_pair(name, dlc, folder, target_name, dtype):
    """PyTorch's state after the step, and dlc's, for the model in `dtype`."""
    ctor, input_name, make_input, loss_name = MODELS[name]
    torch.manual_seed(0)
    model = ctor().to(dtype)
    os.makedirs(folder, exist_ok=True)
    x = make_input()
    if np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64 if dtype == torch.float64 else np.float32)
    model.eval()
    with torch.no_grad():
        y = model(torch.from_numpy(x))
    class_axis = -1 if name == "lstm_tagger" else 1
    rng = np.random.default_rng(2)
    if loss_name == "cross-entropy":
        tshape = list(y.shape)
        classes = tshape.pop(class_axis)
        target = rng.integers(0, classes, tshape, dtype=np.int64)
    else:
        target = rng.standard_normal(tuple(y.shape)).astype(x.dtype if x.dtype != np.int64 else np.float32)
        if dtype == torch.float64:
            target = target.astype(np.float64)
    onnx_path = os.path.join(folder, "model.onnx")
    torch.onnx.export(model, (torch.from_numpy(x),), onnx_path, input_names=[input_name], output_names=["y"],
                      opset_version=17, do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    data = os.path.join(folder, "train.npz")
    np.savez(data, **{input_name: x, "target": target})
    loss = torch_step(model, x, target, loss_name, class_axis, dtype)
    want = {k: v.numpy() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    ckpt = os.path.join(folder, "ckpt")
    cmd = [dlc, "train", onnx_path, "--data", data, "-o", os.path.join(folder, "trained.dlcir"), "--optimizer", "sgd",
           "--lr", "0.1", "--steps", "1", "--batch", str(x.shape[0]), "--no-shuffle", "--loss", loss_name,
           "--class-axis", str(class_axis), "--checkpoint", ckpt, "--target", target_name]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"dlc train failed: {p.stderr.strip()}")
    state = np.load(os.path.join(ckpt, "checkpoint.npz"))
    got = {}
    for key, w in want.items():
        if key not in state:
            raise RuntimeError(f"dlc's state has no '{key}'")
        if state[key].shape != w.shape:
            raise RuntimeError(f"'{key}' has shape {state[key].shape}, PyTorch's {w.shape}")
        got[key] = state[key]
    return want, got, loss


def check(name, dlc, work, target_name):
    try:
        want64, got64, _ = run_pair(name, dlc, os.path.join(work, name + "_f64"), "reference", torch.float64)
        want32, got32, loss = run_pair(name, dlc, os.path.join(work, name), target_name, torch.float32)
    except RuntimeError as e:
        print(f"{name}: FAIL: {e}")
        return False
    d64, where64 = distance(got64, want64, want64)
    d32, where32 = distance(got32, want32, want32)
    torch_noise, _ = distance(want32, want64, want64)
    dlc_noise, _ = distance(got32, want64, want64)
    ok64 = d64 <= 1.0
    if torch_noise <= 1.0:
        ok32, rule = d32 <= 1.0, f"f32 vs PyTorch f32 {d32:.3f} of the bound, at {where32}"
    else:
        ok32 = dlc_noise <= 1.5 * torch_noise
        rule = (f"f32 too ill-conditioned for the bound (PyTorch f32 is {torch_noise:.1f}x the bound from its f64 step); "
                f"dlc f32 is {dlc_noise:.1f}x from it")
    print(f"{name}: {'ok' if ok64 and ok32 else 'FAIL'}: {len(want32)} tensors, loss {loss:.6f}; f64 vs PyTorch f64 "
          f"{d64:.2e} of the bound (at {where64}); {rule}")
    return ok64 and ok32


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", default="resnet18,mobilenet_v2,lstm_tagger,bert_small")
    ap.add_argument("--target", default="onednn")
    a = ap.parse_args()
    results = [check(m, a.dlc, a.work, a.target) for m in a.models.split(",")]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
