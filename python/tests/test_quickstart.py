"""The Python walkthrough (examples/python/quickstart.py) as a user runs it: from another folder,
with no PYTHONPATH (the build made `import dlc` work), and its exported model under ONNX Runtime."""
import os
import subprocess
import sys

import numpy as np

import dlc

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_quickstart_runs_from_anywhere(tmp_path, fashion, ort):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    work = tmp_path / "work"
    proc = subprocess.run([sys.executable, os.path.join(REPO, "examples", "python", "quickstart.py"), "--work", str(work)],
                          cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout
    assert "max|dlc - torch|" in proc.stdout and "quantized:" in proc.stdout
    accuracy = float(proc.stdout.split("test accuracy ")[1].split("%")[0])
    assert accuracy >= 85.0  # one epoch of the two-conv CNN; PyTorch's reaches ~88%
    # The exported model gives dlc's outputs under ONNX Runtime.
    _, _, tx, _ = fashion
    exported = str(work / "fashion_cnn.onnx")
    want = ort(exported, [tx[:64]])[0]
    got = dlc.load(exported).run({"image": tx[:64]})["logits"]
    assert np.max(np.abs(got - want)) <= 1e-4 * np.max(np.abs(want))
    assert os.path.exists(work / "resnet18_int8.onnx")
