#!/usr/bin/env python3
"""Recognition across exporters' forms: models as users write them (torch's nn.TransformerEncoder in
both MultiheadAttention layouts, pre- and post-norm, a causal mask computed in the graph; Hugging
Face-style BERT, GPT-2 and LLaMA blocks written out; torchvision's ViT and Swin), exported by torch
at opsets 13, 14 and 17 with symbolic batch and sequence. For each, after dlc's default pipeline:

- every LayerNorm, RMSNorm, GELU and attention is fused: the counts of LayerNormalization,
  RMSNormalization, Attention (and Gelu, standalone or as a matmul epilogue) are the model's, and
  no Softmax, ReduceMean, Erf, Tanh, Pow or Sqrt is left;
- the torch encoders reach the op count per layer of the project's own BERT layer export
  (tests/models/export_models.py's BertLayer, the same sizes);
- outputs on the reference, cpu and onednn targets match PyTorch at two input shapes (within
  1e-4 of max|y|).

Weights are random (normal, not torch's init, whose zero biases and unit LayerNorm scales the
simplifier would remove). Usage: exporter_forms_test.py --dlc build/tools/dlc --work DIR
"""
import argparse
import collections
import math
import os
import re
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_models import BertLayer  # noqa: E402

D, HEADS, FFN = 64, 4, 128


class TorchEncoder(nn.Module):
    """nn.TransformerEncoder, 2 layers; batch_first or seq-first, post- or pre-norm."""

    def __init__(self, batch_first, norm_first, activation, causal=False):
        super().__init__()
        layer = nn.TransformerEncoderLayer(D, HEADS, FFN, dropout=0.0, activation=activation,
                                           batch_first=batch_first, norm_first=norm_first)
        self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(D) if norm_first else None,
                                             enable_nested_tensor=False)
        self.batch_first, self.causal = batch_first, causal

    def forward(self, x):
        mask = None
        if self.causal:  # computed from the run-time length, as a causal LM writes it
            s = x.shape[1] if self.batch_first else x.shape[0]
            i = torch.arange(s)
            mask = torch.where(i[None, :] > i[:, None], torch.tensor(float("-inf")), torch.tensor(0.0))
        return self.encoder(x, mask=mask)


class HfBertLayer(nn.Module):
    """Hugging Face's BertLayer written out: separate Q/K/V, extended additive attention mask,
    erf GELU spelled as x * 0.5 * (1 + erf(x / sqrt 2))."""

    def __init__(self):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)
        self.out, self.ln1 = nn.Linear(D, D), nn.LayerNorm(D, eps=1e-12)
        self.inter, self.ffn_out, self.ln2 = nn.Linear(D, FFN), nn.Linear(FFN, D), nn.LayerNorm(D, eps=1e-12)

    def heads(self, t):
        return t.view(t.size(0), t.size(1), HEADS, D // HEADS).permute(0, 2, 1, 3)

    def forward(self, x, mask):
        q, k, v = self.heads(self.q(x)), self.heads(self.k(x)), self.heads(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D // HEADS)
        scores = scores + (1.0 - mask[:, None, None, :]) * -10000.0
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).permute(0, 2, 1, 3).contiguous()
        ctx = ctx.view(ctx.size(0), ctx.size(1), D)
        h = self.ln1(self.out(ctx) + x)
        g = self.inter(h)
        g = g * 0.5 * (1.0 + torch.erf(g / math.sqrt(2.0)))
        return self.ln2(self.ffn_out(g) + h)


class HfBert(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([HfBertLayer(), HfBertLayer()])

    def forward(self, x, mask):
        for layer in self.layers:
            x = layer(x, mask)
        return x


class Gpt2Block(nn.Module):
    """Hugging Face's GPT-2 block written out: fused c_attn split three ways, causal mask sliced
    from a tril buffer and applied with where(), gelu_new (tanh form), pre-norm."""

    def __init__(self, max_positions=64):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.c_attn, self.c_proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.fc, self.proj = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)
        tril = torch.tril(torch.ones(max_positions, max_positions, dtype=torch.uint8))
        self.register_buffer("bias", tril.view(1, 1, max_positions, max_positions))

    def heads(self, t):
        return t.view(t.size(0), t.size(1), HEADS, D // HEADS).permute(0, 2, 1, 3)

    def forward(self, x):
        q, k, v = self.c_attn(self.ln_1(x)).split(D, dim=2)
        q, k, v = self.heads(q), self.heads(k), self.heads(v)
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D // HEADS)
        s = q.size(-2)
        causal = self.bias[:, :, :s, :s].bool()
        w = torch.where(causal, w, torch.tensor(-1e4, dtype=w.dtype))
        a = torch.matmul(torch.softmax(w, dim=-1), v).permute(0, 2, 1, 3).contiguous()
        x = x + self.c_proj(a.view(a.size(0), a.size(1), D))
        h = self.fc(self.ln_2(x))
        h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * torch.pow(h, 3.0))))
        return x + self.proj(h)


class Gpt2(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([Gpt2Block(), Gpt2Block()])
        self.ln_f = nn.LayerNorm(D)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return self.ln_f(x)


class LlamaRMSNorm(nn.Module):
    """Hugging Face's LlamaRMSNorm (T5's is the same): x * rsqrt(mean(x²) + eps), weight first."""

    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


class LlamaBlock(nn.Module):
    """A LLaMA decoder block written out (no rotary embedding): pre-RMSNorm, bias-free Q/K/V/O, an
    additive causal mask sliced from a buffer, SwiGLU MLP."""

    def __init__(self, max_positions=64):
        super().__init__()
        self.input_norm, self.post_norm = LlamaRMSNorm(D), LlamaRMSNorm(D)
        self.q, self.k, self.v, self.o = (nn.Linear(D, D, bias=False) for _ in range(4))
        self.gate, self.up, self.down = nn.Linear(D, FFN, bias=False), nn.Linear(D, FFN, bias=False), nn.Linear(FFN, D, bias=False)
        self.register_buffer("mask", torch.triu(torch.full((max_positions, max_positions), -1e4), 1))

    def heads(self, t):
        return t.view(t.size(0), t.size(1), HEADS, D // HEADS).permute(0, 2, 1, 3)

    def forward(self, x):
        h = self.input_norm(x)
        q, k, v = self.heads(self.q(h)), self.heads(self.k(h)), self.heads(self.v(h))
        s = q.size(-2)
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D // HEADS) + self.mask[:s, :s]
        a = torch.matmul(torch.softmax(w, dim=-1), v).permute(0, 2, 1, 3).contiguous()
        x = x + self.o(a.view(a.size(0), a.size(1), D))
        h = self.post_norm(x)
        return x + self.down(nn.functional.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([LlamaBlock(), LlamaBlock()])
        self.norm = LlamaRMSNorm(D)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return self.norm(x)


class BertLayers(nn.Module):
    """The project's own BERT layer export (the reference op count), two layers."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([BertLayer(D, HEADS, FFN), BertLayer(D, HEADS, FFN)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def seq_inputs(batch, seq, batch_first=True):
    x = np.random.default_rng(batch * 100 + seq).standard_normal((batch, seq, D) if batch_first else (seq, batch, D))
    return [x.astype(np.float32)]


def bert_inputs(batch, seq):
    x = seq_inputs(batch, seq)[0]
    mask = np.ones((batch, seq), np.float32)
    mask[0, seq // 2:] = 0.0  # the first sequence is padded
    return [x, mask]


def image_inputs(batch, _):
    return [np.random.default_rng(batch).standard_normal((batch, 3, 32, 32)).astype(np.float32)]


SEQ = {"x": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq"}}
SEQ_FIRST = {"x": {0: "seq", 1: "batch"}, "y": {0: "seq", 1: "batch"}}
# name -> (constructor, inputs(batch, seq), input names, dynamic axes, shapes to run,
#          expected fused counts {op: n}, compare ops per layer with the project's BERT (layers))
MODELS = {
    "encoder_post": (lambda: TorchEncoder(True, False, "relu"), seq_inputs, ["x"], SEQ, [(1, 16), (3, 7)],
                     {"Attention": 2, "LayerNormalization": 4}, 2),
    "encoder_pre_seq_first_gelu": (lambda: TorchEncoder(False, True, "gelu"),
                                   lambda b, s: seq_inputs(b, s, batch_first=False), ["x"], SEQ_FIRST,
                                   [(1, 16), (3, 7)], {"Attention": 2, "LayerNormalization": 5, "Gelu": 2}, None),
    "encoder_causal": (lambda: TorchEncoder(True, False, "relu", causal=True), seq_inputs, ["x"], SEQ,
                       [(2, 16), (1, 9)], {"Attention": 2, "LayerNormalization": 4}, None),
    "hf_bert": (HfBert, bert_inputs, ["x", "mask"], {"x": {0: "batch", 1: "seq"}, "mask": {0: "batch", 1: "seq"},
                                                    "y": {0: "batch", 1: "seq"}},
                [(2, 16), (1, 5)], {"Attention": 2, "LayerNormalization": 4, "Gelu": 2}, None),
    "gpt2": (Gpt2, seq_inputs, ["x"], SEQ, [(2, 16), (1, 11)], {"Attention": 2, "LayerNormalization": 5, "Gelu": 2},
             None),
    "llama": (Llama, seq_inputs, ["x"], SEQ, [(2, 16), (1, 9)], {"Attention": 2, "RMSNormalization": 5}, None),
    "vit": (lambda: torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=HEADS,
                                                         hidden_dim=D, mlp_dim=FFN),
            image_inputs, ["x"], {"x": {0: "batch"}, "y": {0: "batch"}}, [(1, 0), (3, 0)],
            {"Attention": 2, "LayerNormalization": 5, "Gelu": 2}, None),
    "swin": (lambda: torchvision.models.SwinTransformer(patch_size=[4, 4], embed_dim=32, depths=[2], num_heads=[2],
                                                        window_size=[4, 4]),
             image_inputs, ["x"], {"x": {0: "batch"}, "y": {0: "batch"}}, [(1, 0), (2, 0)],
             {"Attention": 2, "LayerNormalization": 6, "Gelu": 2}, None),
}
LEFT_UNFUSED = ["Softmax", "ReduceMean", "Erf", "Tanh", "Pow", "Sqrt"]


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
        for m in model.modules():  # LayerNorm and RMSNorm scales near 1
            if isinstance(m, (nn.LayerNorm, LlamaRMSNorm)):
                m.weight.add_(1.0)
    return model.eval()


def export(name, spec, opset, work):
    ctor, inputs, names, axes, shapes = spec[:5]
    path = os.path.join(work, f"{name}_{opset}.onnx")
    torch.manual_seed(0)
    model = randomize(ctor(), 0)
    b, s = shapes[0]
    args = tuple(torch.from_numpy(a) for a in inputs(b, s))
    torch.onnx.export(model, args, path, opset_version=opset, input_names=names, output_names=["y"],
                      dynamic_axes=axes)
    return model, path


def op_counts(dlc, path):
    ir = subprocess.run([dlc, "opt", path], check=True, capture_output=True, text=True).stdout
    counts = collections.Counter(re.findall(r"= ([A-Za-z]+)\(", ir))
    counts.pop("Constant", None)
    # Gelu as a matmul epilogue counts as a Gelu.
    counts["Gelu"] += len(re.findall(r'FusedMatMul\([^\n]*activation = "Gelu"', ir))
    return counts, ir


def run_dlc(dlc, path, target, arrays, names, work):
    out_dir = os.path.join(work, "out")
    args = [dlc, "run", path, "--target", target, "--output-dir", out_dir]
    for n, a in zip(names, arrays):
        f = os.path.join(work, f"in_{n}.npy")
        np.save(f, a)
        args += ["--input", f"{n}={f}"]
    subprocess.run(args, check=True, capture_output=True, text=True)
    return np.load(os.path.join(out_dir, "output_0.npy"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--opsets", default="13,14,17")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    failures = []
    # The reference: the project's BERT layer export, ops per layer.
    _, bert_path = export("bert_layers", (BertLayers, seq_inputs, ["x"], SEQ, [(1, 16)]), 17, args.work)
    bert_counts, _ = op_counts(args.dlc, bert_path)
    # Ops per layer; a Gelu epilogue is inside its FusedMatMul, not an op of its own.
    bert_per_layer = (sum(bert_counts.values()) - bert_counts["Gelu"]) / 2
    print(f"project BERT layer: {bert_per_layer:g} ops per layer ({dict(bert_counts)})")
    for name in args.models.split(","):
        spec = MODELS[name]
        expected, layers = spec[5], spec[6]
        for opset in (int(o) for o in args.opsets.split(",")):
            model, path = export(name, spec, opset, args.work)
            counts, _ = op_counts(args.dlc, path)
            label = f"{name} opset {opset}"
            for op, n in expected.items():
                if counts[op] != n:
                    failures.append(f"{label}: {counts[op]} {op}, expected {n}")
            for op in LEFT_UNFUSED:
                if counts[op]:
                    failures.append(f"{label}: {counts[op]} {op} left unfused")
            line = f"{label}: {sum(counts.values())} ops ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})"
            if layers:
                per_layer = (sum(counts.values()) - counts["Gelu"]) / layers
                line += f"; {per_layer:g} per layer"
                if per_layer != bert_per_layer:
                    failures.append(f"{label}: {per_layer:g} ops per layer, the project's BERT has {bert_per_layer:g}")
            print(line)
            for b, s in spec[4]:
                arrays = spec[1](b, s)
                with torch.no_grad():
                    want = model(*(torch.from_numpy(a) for a in arrays)).numpy()
                for target in ("reference", "cpu", "onednn"):
                    try:
                        got = run_dlc(args.dlc, path, target, arrays, spec[2], args.work)
                    except subprocess.CalledProcessError as e:
                        failures.append(f"{label} {target} {arrays[0].shape}: dlc run failed: {e.stderr.strip()}")
                        continue
                    err = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))
                    if got.shape != want.shape or not err <= 1e-4:
                        failures.append(f"{label} {target} {arrays[0].shape}: max error {err:.3g} of max|y|")
                    print(f"  {target:9s} {str(arrays[0].shape):14s} error {err:.2e} of max|y|")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("all models fused and matched PyTorch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
