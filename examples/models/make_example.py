"""Exports the bundled example model (a small CNN classifier) with PyTorch, plus an input and
PyTorch's output for it. Rerun with /usr/bin/python3 to regenerate; the outputs are committed."""
import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.Conv2d(16, 32, 1), nn.BatchNorm2d(32), nn.Hardswish(),
            nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Linear(32, 10)

    def forward(self, x):
        return torch.softmax(self.classifier(torch.flatten(self.features(x), 1)), dim=1)


model = SmallCNN().eval()
for m in model.modules():  # non-trivial batch-norm statistics
    if isinstance(m, nn.BatchNorm2d):
        m.running_mean.uniform_(-0.5, 0.5)
        m.running_var.uniform_(0.5, 1.5)
x = torch.rand(1, 3, 32, 32)
torch.onnx.export(model, x, "small_cnn.onnx", input_names=["image"], output_names=["probabilities"],
                  dynamic_axes={"image": {0: "N"}, "probabilities": {0: "N"}}, opset_version=13)
np.save("small_cnn_input.npy", x.numpy())
with torch.no_grad():
    np.save("small_cnn_expected.npy", model(x).numpy())
print("probabilities:", model(x).detach().numpy().round(4))
